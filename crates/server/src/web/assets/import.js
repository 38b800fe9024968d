// Import page: uploads the file, then follows the import job until it is done.
(function () {
  "use strict";
  var text = JSON.parse(document.getElementById("import-text").textContent);
  var form = document.getElementById("import-form");
  var bar = document.getElementById("bar");
  var phase = document.getElementById("phase");
  var progress = document.getElementById("progress");
  var result = document.getElementById("result");
  var summary = document.getElementById("summary");

  function show(label, share) {
    progress.hidden = false;
    bar.value = Math.round(share * 100);
    phase.textContent = label + " " + Math.round(share * 100) + "%";
  }

  // The upload or the job is over without a summary: say why, and free the form.
  function fail(message) {
    show(text.failed, 1);
    progress.dataset.state = "failed";
    summary.textContent = message;
    result.hidden = false;
    form.querySelector("button").disabled = false;
  }

  // A signed-out session is redirected to the sign-in page, which the browser follows:
  // an answer that is not JSON, or that comes from /login, means the session ended.
  function signedOut(url, contentType) {
    return (url && new URL(url, location.href).pathname === "/login") ||
      !/^application\/json/.test(contentType || "");
  }

  function poll(id) {
    fetch("/import/jobs/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 404) { throw new Error(text.lost); }
        if (!r.ok || signedOut(r.url, r.headers.get("Content-Type"))) {
          throw new Error(r.ok ? text.session : text.lost);
        }
        return r.json();
      })
      .then(function (job) {
        if (!job.done) {
          show(text.importing, job.total ? job.bytes / job.total : 0);
          setTimeout(function () { poll(id); }, 300);
          return;
        }
        show(job.failed ? text.failed : text.done, 1);
        progress.dataset.state = job.failed ? "failed" : "done";
        summary.textContent = job.summary;
        result.hidden = false;
        form.querySelector("button").disabled = false;
      })
      .catch(function (e) { fail(e.message || text.network); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("file").files[0];
    if (!file) { return; }
    var csvType = document.getElementById("csv-type").value;
    var url = "/import?name=" + encodeURIComponent(file.name) +
      (csvType ? "&csv_type=" + encodeURIComponent(csvType) : "");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { show(text.uploading, e.loaded / e.total); }
    };
    xhr.onload = function () {
      if (xhr.status !== 200) { fail(xhr.responseText || text.network); return; }
      if (signedOut(xhr.responseURL, xhr.getResponseHeader("Content-Type"))) {
        fail(text.session);
        return;
      }
      poll(JSON.parse(xhr.responseText).job);
    };
    xhr.onerror = function () { fail(text.network); };
    result.hidden = true;
    form.querySelector("button").disabled = true;
    show(text.uploading, 0);
    xhr.send(file);
  });
})();
