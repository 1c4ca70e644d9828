// Polls the submission's stage every 2 s while it runs and reloads the page when the
// stage changes, so the stages and report appear without a manual refresh.
(function () {
  "use strict";
  var el = document.getElementById("status");
  if (!el || el.dataset.running !== "true") return;
  var id = el.dataset.submission;
  var known = el.dataset.status;
  function poll() {
    fetch("/api/v1/submissions/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        var stages = s && s.stages ? s.stages.length : 0;
        if (s && (s.status !== known || stages !== document.querySelectorAll(".stages li").length)) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
