"""Devices: NVIDIA GPUs via NVML, TensorFlow's visible devices as the runner saw them, CPU and RAM."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tffnoise_tui.devices import cluster_state
from tffnoise_tui.store_reader import StoreReader


def meter(frac: float | None, width: int = 20) -> str:
    if frac is None:
        return "–"
    frac = max(0.0, min(1.0, frac))
    n = round(frac * width)
    color = "green" if frac < 0.6 else "yellow" if frac < 0.85 else "red"
    return f"[{color}]{'█' * n}[/][dim]{'░' * (width - n)}[/] {frac:4.0%}"


def cluster_text(snap: dict) -> str:
    """The Ray cluster a sweep runs on: each node, its free CPUs/GPUs (of what this sweep asked for) and
    the runs its cells are training there."""
    nodes = snap.get("nodes") or []
    lines = [f"[b]Ray cluster[/]  {escape(str(snap.get('address')))} · {len(nodes)} node(s), "
             f"{snap.get('cluster_cpus_free', 0):g} CPU / {snap.get('cluster_gpus_free', 0):g} GPU free, "
             f"{snap.get('queued_cells', 0)} cell(s) waiting"]
    for n in nodes:
        state = "" if n.get("alive") else "  [red]lost[/]"
        runs = n.get("runs") or []
        lines.append(f"  {escape(str(n.get('host')))} {escape(str(n.get('ip')))}  "
                     f"CPU {n.get('cpus_free', 0):g}/{n.get('cpus', 0):g} free  GPU {n.get('gpus_free', 0):g}/"
                     f"{n.get('gpus', 0):g} free  " + (f"runs {escape(' '.join(r[:8] for r in runs))}" if runs else "[dim]idle[/]")
                     + state)
    return "\n".join(lines)


class DevicesScreen(Screen):
    BINDINGS = [Binding("g", "refresh", "Refresh")]

    def compose(self) -> ComposeResult:
        yield Static("Devices", id="title", classes="title")
        yield Static("", id="gpu-line")
        yield DataTable(id="gpus", cursor_type="none")
        yield Static("", id="tf-devices")
        yield Static("", id="host")
        yield Static("", id="runner")
        yield Static("", id="cluster")
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#gpus", DataTable)
        for c in ("#", "name", "util", "memory", "temp"):
            t.add_column(c, key=c)
        self.refresh_now()
        self.set_interval(self.app.device_interval, self._tick)

    def _tick(self) -> None:
        if self.is_current:
            self.refresh_now()

    def on_screen_resume(self) -> None:
        self.refresh_now()

    def action_refresh(self) -> None:
        self.refresh_now()

    def refresh_now(self) -> None:
        rep = self.app.probe()
        line = self.query_one("#gpu-line", Static)
        t = self.query_one("#gpus", DataTable)
        t.clear()
        if rep.gpus:
            line.update(f"[b]GPUs[/]  {escape(rep.gpu_line())}")
            for g in rep.gpus:
                mem = (f"{g.mem_used_mb:,.0f}/{g.mem_total_mb:,.0f} MiB" if g.mem_total_mb else "–")
                t.add_row(str(g.index), g.name[:28], f"{g.util:.0f}%" if g.util is not None else "–", mem,
                          f"{g.temp_c:.0f}°C" if g.temp_c is not None else "–")
            t.display = True
        else:
            line.update(f"[b]GPUs[/]  [yellow]{escape(rep.gpu_line())}[/]")
            t.display = False
        reader = StoreReader(self.app.store_root)
        try:
            devs, rid = reader.newest_devices()
        finally:
            reader.close()
        tf = self.query_one("#tf-devices", Static)
        if devs:
            gpu_seen = any("GPU" in d for d in devs)
            warn = "" if gpu_seen or not rep.gpus else "\n  [red]TensorFlow saw no GPU although NVML lists one[/]"
            tf.update("[b]TensorFlow devices[/] (runner, run " + escape(rid[:8]) + "):\n  "
                      + "\n  ".join(escape(d) for d in devs) + warn)
        else:
            tf.update(f"[b]TensorFlow devices[/]: [dim]no run.json in {escape(self.app.display_path(self.app.store_root))} yet "
                      "(the runner records them when a run starts)[/]")
        host = ["[b]Host[/]"]
        cpu = None if rep.cpu_percent is None else rep.cpu_percent / 100
        host.append(f"  CPU  {meter(cpu)}  {rep.cpu_count or '?'} cores"
                    + (f"  load {rep.load[0]:.2f} {rep.load[1]:.2f} {rep.load[2]:.2f}" if rep.load else ""))
        if rep.ram_total_mb:
            host.append(f"  RAM  {meter(rep.ram_used_mb / rep.ram_total_mb)}  "
                        f"{rep.ram_used_mb / 1024:.1f}/{rep.ram_total_mb / 1024:.1f} GiB")
        self.query_one("#host", Static).update("\n".join(host))
        self.query_one("#runner", Static).update(self._runner_text(rep))
        cluster = self.query_one("#cluster", Static)
        snap = cluster_state(self.app.store_root)
        cluster.display = snap is not None  # only while a Ray sweep writes this store
        if snap is not None:
            cluster.update(cluster_text(snap))

    def _runner_text(self, rep) -> str:
        """The runner's own process tree (the sweep launched or attached here) beside the host's totals."""
        job = self.app.launcher.current
        if job is None or not job.pid:
            return "[b]Runner[/]  [dim]no sweep running from this TUI (it launches or attaches one)[/]"
        st = self.app.process_probe(job.pid)
        if st is None:
            return f"[b]Runner[/]  pid {job.pid}: [yellow]not readable (gone, or another user's)[/]"
        cores = rep.cpu_count or 1
        lines = [f"[b]Runner[/]  pid {st.pid}, {st.processes} process(es) · {escape(job.name)}",
                 f"  CPU  {meter(st.cpu_percent / 100 / cores)}  {st.cpu_percent:.0f}% of one core"]
        ram = f"{st.rss_mb / 1024:.2f} GiB"
        if rep.ram_total_mb:
            lines.append(f"  RAM  {meter(st.rss_mb / rep.ram_total_mb)}  {ram} resident")
        else:
            lines.append(f"  RAM  {ram} resident")
        return "\n".join(lines)
