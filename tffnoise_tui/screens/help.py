"""The `?` help panel: every key, per screen."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# tffnoise-tui keys

**Anywhere** · `F2`/`c` Configure · `F3`/`m` Monitor · `F4`/`r` Results · `F5`/`d` Devices ·
`?`/`F1` this help · `q`/`ctrl+q` quit (sweeps keep running) · letters act when no text field has focus
(`esc` leaves a field)

**Configure** · `↑↓ enter` pick a recipe · `tab` next field · `ctrl+o` open a TOML path ·
`ctrl+s` save (atomic) · `ctrl+r` launch (queued, one at a time) · `ctrl+t`/`esc` recipe list.
Values are TOML (`[64, 32]`, `0.5`, `"text"`); the grid is an inline table
`{ "noise.weights.level" = [0.0, 0.5] }`. Errors show under the field, worded as by the CLI.
Noise: `add mechanism` + `add`, `remove` on a mechanism.

**Monitor** · `↑↓` pick a run (curves: loss left, accuracy right) · `x` `x` cancel (press twice; SIGTERM to
the process group) · `R` relaunch = resume · `g` refresh. Red = diverged, with the round.

**Results** · `/` filter · `esc` clear · `s` next sort column · `S` reverse · click a header to sort ·
`←→` switch tabs (runs, box plots, PoS/PoA/SNR, DP) · `o` open the report PNG · `g` reload

**Devices** · GPUs by NVML, TensorFlow's devices from the newest run, CPU/RAM · `g` refresh

`↑↓` scroll · `esc` or `?` closes this panel.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss", "Close"),
                Binding("q", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP, id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()  # ↑↓ / page keys scroll

    def action_dismiss(self) -> None:
        self.dismiss()
