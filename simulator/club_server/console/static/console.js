// The club console's only script: while "refresh" is ticked, the page's live part (#live) is
// fetched again every few seconds (?part=live: the same page, that part only) and replaced
// when its digest (X-Live-Digest: the part without its "as of" time) differs from the one
// shown, so a list, a story or the report follows a test as it runs. No library, no other
// origin.
"use strict";

(function () {
  const live = document.getElementById("live");
  const box = document.getElementById("auto-refresh");
  const every = Number(document.body.dataset.refreshMs) || 3000;
  if (!live || !box) {
    return;
  }
  let busy = false;

  async function refresh() {
    if (!box.checked || busy || document.hidden) {
      return;
    }
    busy = true;
    const url = new URL(window.location.href);
    url.searchParams.set("part", "live");
    try {
      const answer = await fetch(url, { cache: "no-store" });
      if (answer.ok) {
        const digest = answer.headers.get("X-Live-Digest");
        const html = await answer.text();
        if (digest !== live.dataset.digest) {
          // the club's data changed: replace the part
          live.innerHTML = html;
          live.dataset.digest = digest;
        } else {
          // only the time changed: leave the rows alone (selection, focus, a link under the
          // pointer)
          document.getElementById("as-of").textContent = answer.headers.get("X-As-Of");
        }
        live.dataset.refreshed = String(Number(live.dataset.refreshed || "0") + 1);
      }
    } catch (err) {
      // the server has stopped: keep what is shown; the next tick tries again
    } finally {
      busy = false;
    }
  }

  window.setInterval(refresh, every);
})();
