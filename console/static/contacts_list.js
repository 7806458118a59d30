(function () {
  "use strict";
  document.querySelectorAll("[data-model-action]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      window.modelActions.execute(link.getAttribute("data-model-action"));
    });
  });
})();
