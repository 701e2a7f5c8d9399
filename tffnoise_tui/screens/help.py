"""The `?` help panel: one table of keys per screen, generated from the screens' own bindings (so it can
never list a key that does not exist, nor miss one)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

NOTE = ("Letters act when no text field has focus (`esc` leaves a field). Sweeps keep running when the TUI "
        "quits. Configure: values are TOML (`[64, 32]`, `0.5`, `\"text\"`). Results filter terms: "
        "`noise.weights.level=0.5` `training.protocol=fedavg` `status=done` `test_accuracy>0.9`, "
        "free words match setting labels.")


def screens() -> list[tuple[str, type]]:
    from tffnoise_tui.app import TffnoiseApp
    from tffnoise_tui.screens.configure import ConfigureScreen
    from tffnoise_tui.screens.devices import DevicesScreen
    from tffnoise_tui.screens.monitor import MonitorScreen
    from tffnoise_tui.screens.results import ResultsScreen
    from tffnoise_tui.screens.store_picker import StorePicker

    return [("Anywhere", TffnoiseApp), ("Configure", ConfigureScreen), ("Monitor", MonitorScreen),
            ("Results", ResultsScreen), ("Devices", DevicesScreen), ("Store picker (F6)", StorePicker)]


_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space"}


def key_name(b: Binding) -> str:
    """`ctrl+s`, `?`, `F2`: as the keys are written on a keyboard (the same in the panel and in docs/tui.md)."""
    key = _NAMES.get(b.key, b.key)
    return key.upper() if len(key) in (2, 3) and key[0] == "f" and key[1:].isdigit() else key


def key_rows(bindings, display=key_name) -> list[tuple[str, str]]:
    """(keys, description) per action: keys bound to the same action and description share a row."""
    rows: dict[tuple[str, str], list[str]] = {}
    for b in bindings:
        b = b if isinstance(b, Binding) else Binding(*b)
        for key in b.key.split(","):
            one = Binding(key.strip(), b.action, b.description)
            what = (b.description or b.action) + (f": {b.tooltip}" if b.tooltip else "")
            rows.setdefault((b.action, what), []).append(display(one))
    return [(" / ".join(dict.fromkeys(keys)), desc) for (_, desc), keys in rows.items()]


def help_markdown(display=key_name, level: str = "##") -> str:
    out = [f"{level[:-1] or '#'} tffnoise-tui keys", "", NOTE, ""] if level == "##" else []
    for title, cls in screens():
        out += [f"{level} {title}", "", "| key | does |", "| --- | --- |"]
        out += [f"| `{k}` | {d} |" for k, d in key_rows(cls.BINDINGS, display)]
        out.append("")
    return "\n".join(out)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close"),
                Binding("q", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(help_markdown(), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()  # ↑↓ / page keys scroll

    def action_dismiss(self) -> None:
        self.dismiss()


if __name__ == "__main__":  # the keys tables of docs/tui.md: python -m tffnoise_tui.screens.help
    print(help_markdown(level="###"))
