"""The report's stylesheet and the live page's polling script, inline so the page works offline."""

from __future__ import annotations

CSS = """
:root { --ink: #1d2733; --muted: #5b6b7c; --line: #dde3ea; --card: #ffffff; --bg: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #1d2733; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .meta { color: #c8d3df; font-size: 13px; }
header .meta span { margin-right: 14px; white-space: nowrap; }
nav { padding: 8px 28px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 10; }
nav a { color: #2a5d9f; text-decoration: none; margin-right: 16px; font-size: 13px; white-space: nowrap; }
main { max-width: 1500px; margin: 0 auto; padding: 16px 24px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 16px 0; }
section h2 { margin: 0 0 4px; font-size: 17px; }
section h3 { margin: 14px 0 2px; font-size: 14px; }
p.caption { margin: 2px 0 8px; color: var(--muted); max-width: 1100px; }
.note { background: #fff8e1; border: 1px solid #f0d98c; border-radius: 6px; padding: 10px 14px; margin: 8px 0; }
.chart-note { color: var(--muted); font-size: 13px; margin: 4px 0 0; }
.caveats { color: #8a5a00; font-size: 12px; margin: 4px 0 0; padding-left: 18px; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 10px 24px; }
.summary .best { font-size: 15px; }
.summary .value { font-weight: 600; font-variant-numeric: tabular-nums; }
#live-status { font-size: 12px; color: #c8d3df; }
.table-wrap { overflow-x: auto; max-height: 720px; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; }
table.trials { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
table.trials th { position: sticky; top: 0; background: #eef2f6; cursor: pointer; text-align: left;
                  padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; user-select: none; }
table.trials th[data-order="asc"]::after { content: " \\25B2"; }
table.trials th[data-order="desc"]::after { content: " \\25BC"; }
table.trials td { padding: 4px 8px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
table.trials td:last-child { white-space: normal; min-width: 220px; }
table.trials tr.state-fail td { background: #fdeeee; }
table.trials tr.state-pruned td { background: #f3f3f3; color: #666; }
table.trials tr.state-running td, table.trials tr.state-waiting td { background: #eef5fd; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 12px; }
"""

#: Polls the server's state endpoint; reloads (keeping the scroll position) when a trial finishes.
LIVE_JS = """
(function () {
  var fingerprint = %(fingerprint)s, stateUrl = %(state_url)s, pollMs = %(poll_ms)d;
  var scrollKey = "actreg-dashboard-scroll";
  var status = document.getElementById("live-status");
  window.addEventListener("load", function () {
    var saved = sessionStorage.getItem(scrollKey);
    if (saved !== null) { sessionStorage.removeItem(scrollKey); window.scrollTo(0, parseFloat(saved)); }
  });
  function show(text) { if (status) { status.textContent = text; } }
  function poll() {
    fetch(stateUrl, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.fingerprint !== fingerprint) {
          show("live: a trial finished, reloading…");
          sessionStorage.setItem(scrollKey, String(window.scrollY));
          window.location.reload();
          return;
        }
        show("live: " + state.complete + " complete, " + state.running + " running, " + state.failed +
             " failed, " + state.pruned + " pruned; checked " + new Date().toLocaleTimeString());
        setTimeout(poll, pollMs);
      })
      .catch(function () { show("live: server unreachable, retrying…"); setTimeout(poll, pollMs); });
  }
  setTimeout(poll, pollMs);
})();
"""
