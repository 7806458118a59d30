/* The import progress page: polls the import's JSON status and moves the bar without reloading.
 *
 * The page works without this script (it shows where the import stood when it was loaded); with
 * it, the bar, the counts and the status follow the background job until it is done or failed,
 * then the link to the rejected rows appears when there are any.
 */
(function () {
  "use strict";

  var card = document.querySelector("[data-import-progress-card]");
  if (!card) {
    return;
  }
  var url = card.getAttribute("data-status-url");
  var bar = card.querySelector("[data-import-progress]");
  var FINISHED = {done: true, failed: true};

  function text(selector, value) {
    var element = card.querySelector(selector);
    if (element) {
      element.textContent = String(value);
    }
  }

  function show(state) {
    bar.value = state.percent;
    bar.setAttribute("aria-valuenow", String(state.percent));
    bar.textContent = state.percent + " %";
    text("[data-import-status]", state.status);
    text("[data-import-percent]", state.percent);
    text("[data-import-created]", state.created);
    text("[data-import-updated]", state.updated);
    text("[data-import-rejected]", state.rejected);
    var error = card.querySelector("[data-import-error]");
    error.textContent = state.error || "";
    error.hidden = !state.error;
    card.querySelector("[data-import-rejects]").hidden = !(state.rejected && FINISHED[state.status]);
  }

  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (!FINISHED[state.status]) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);  // the server may be restarting; keep trying, more slowly
      });
  }

  poll();
})();
