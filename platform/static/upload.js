// The scenario page's browser upload: sends the chosen `docker save` archive as the request
// body (the API's upload path and checks) with a progress bar, then opens the submission's
// page. A failed or cut upload can be sent again with one click; nothing half-sent is kept.
// Also the "copy" button beside the `jiebang submit` command, and the department's package
// form (`form[data-progress]`): the same progress bar for a multipart form whose answer is
// a page (the edit page, or the form again with its problems).
(function () {
  "use strict";
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = button.dataset.copied;
      });
    });
  });

  document.querySelectorAll("form[data-progress]").forEach(function (pageForm) {
    var bar = pageForm.querySelector("progress");
    var line = pageForm.querySelector("[role=status]");
    var button = pageForm.querySelector("button[type=submit]");
    pageForm.addEventListener("submit", function (event) {
      if (!window.FormData) return;
      event.preventDefault();
      var sending = new XMLHttpRequest();
      sending.open("POST", pageForm.action);
      button.disabled = true;
      bar.hidden = false;
      bar.value = 0;
      sending.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        line.textContent = pageForm.dataset.msgSending.replace("{percent}", percent);
      };
      sending.upload.onload = function () {
        bar.value = 100;
        line.textContent = pageForm.dataset.msgChecking;
      };
      sending.onload = function () {
        bar.setAttribute("data-done", "true");
        if (sending.status < 400) {
          // Saved: the redirect was followed; show that page at its own address.
          window.location.assign(sending.responseURL);
        } else {
          // Refused: the answer is this page again with every problem; show it as it is.
          document.open();
          document.write(sending.responseText);
          document.close();
          history.replaceState(null, "", sending.responseURL);
        }
      };
      sending.onerror = function () {
        button.disabled = false;
        line.textContent = pageForm.dataset.msgNetwork;
        line.className = "alert error";
      };
      sending.send(new FormData(pageForm));
    });
  });

  var form = document.getElementById("upload-form");
  if (!form) return;
  var progress = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var retry = document.getElementById("upload-retry");
  var submit = form.querySelector("button[type=submit]");
  var request = null;

  function say(text, isError) {
    status.textContent = text;
    status.className = isError ? "alert error" : "";
  }

  function fail(text) {
    request = null;
    submit.disabled = false;
    retry.hidden = false;
    say(text, true);
  }

  function send() {
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    var team = form.querySelector("select[name=team_id]").value;
    var url = "/scenarios/" + encodeURIComponent(form.dataset.scenario) +
      "/submissions?team_id=" + encodeURIComponent(team);
    request = new XMLHttpRequest();
    request.open("POST", url);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", "application/x-tar");
    request.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    submit.disabled = true;
    retry.hidden = true;
    progress.hidden = false;
    progress.value = 0;
    progress.removeAttribute("data-done");
    request.upload.onprogress = function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.floor((event.loaded / event.total) * 100);
      progress.value = percent;
      say(form.dataset.msgSending.replace("{percent}", percent));
    };
    request.upload.onload = function () {
      progress.value = 100;
      say(form.dataset.msgChecking);
    };
    request.onload = function () {
      var answer = null;
      try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
      if (request.status === 201 && answer && answer.submission_url) {
        progress.setAttribute("data-done", "true");
        window.location.assign(answer.submission_url);
      } else {
        var message = answer && answer.error ? answer.error.message : request.statusText;
        fail(form.dataset.msgFailed.replace("{message}", message));
      }
    };
    request.onerror = function () { fail(form.dataset.msgNetwork); };
    request.onabort = function () { fail(form.dataset.msgNetwork); };
    request.send(file);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (request === null) send();
  });
  retry.addEventListener("click", function () {
    if (request === null) send();
  });
})();
