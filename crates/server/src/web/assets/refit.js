// The customer list's refit button: while the refit runs (seconds on a large ledger) it says
// so, and cannot be pressed a second time (a second refit would be refused as running).
(function () {
  "use strict";
  document.querySelectorAll("form.refit").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button");
      button.disabled = true;
      button.textContent = button.getAttribute("data-busy");
      form.setAttribute("aria-busy", "true");
    });
  });
})();
