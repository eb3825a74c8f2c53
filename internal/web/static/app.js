// Canopy portal. Everything works without this file; it only makes the
// "Leave this site" control faster and safer, and helps a few forms.
(function () {
  "use strict";
  var leave = document.getElementById("leave");
  if (leave) {
    var away = function () {
      var to = leave.href;
      // Blank the page first, so nothing shows while the next one loads,
      // then replace this page in the history instead of adding to it.
      document.title = "";
      if (document.body) { document.body.textContent = ""; }
      window.location.replace(to);
    };
    leave.addEventListener("click", function (e) { e.preventDefault(); away(); });
    document.addEventListener("keydown", function (e) {
      if ((e.key === "Escape" || e.key === "Esc") && !e.isComposing) { away(); }
    });
  }

  // "A child is in danger": bring the emergency advice into view and have
  // screen readers announce it.
  var urgent = document.getElementById("flag-urgent");
  var help = document.getElementById("emergency");
  if (urgent && help) {
    urgent.addEventListener("change", function () {
      if (urgent.checked) {
        help.setAttribute("role", "alert");
        help.scrollIntoView({ block: "nearest" });
      } else {
        help.removeAttribute("role");
      }
    });
  }

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  var copy = document.getElementById("copy");
  var said = document.getElementById("copy-status");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-code")).then(function () {
        if (said) { said.textContent = copy.getAttribute("data-done"); }
      });
    });
  }
})();
