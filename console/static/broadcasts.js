/* Broadcasts: the create form's segment rows, and the broadcast page's progress bar.
 *
 * Both pages work without this script: "Add another segment" is a submit button the server
 * answers with one more row, and the broadcast page shows where it stood when it was loaded. With
 * it, a new empty row appears as soon as the last one is chosen, and the progress bar, the counts,
 * the status and the buttons follow the broadcast's progress.json until it is sent or cancelled.
 * No inline script anywhere: the console runs under a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  // --- the create form: one more segment row when the last one is filled in ---

  function setupForm(form) {
    var rows = form.querySelector("[data-segment-rows]");
    var addButton = form.querySelector("[data-add-segment]");
    if (!rows) {
      return;
    }
    function lastRow() {
      var all_rows = all(rows, "[data-segment-row]");
      return all_rows[all_rows.length - 1];
    }
    function addRow() {
      var last = lastRow();
      var select = last.querySelector("select");
      if (!select.value || select.options.length - 1 <= all(rows, "[data-segment-row]").length) {
        return;  // the last row is still empty, or every segment already has a row
      }
      var copy = last.cloneNode(true);
      var number = all(rows, "[data-segment-row]").length + 1;
      var copySelect = copy.querySelector("select");
      var label = copy.querySelector("label");
      copySelect.id = "segment-" + number;
      copySelect.value = "";
      copySelect.options[0].textContent = "Add another segment…";
      label.setAttribute("for", copySelect.id);
      label.textContent = "Segment " + number;
      rows.appendChild(copy);
    }
    rows.addEventListener("change", addRow);
    if (addButton) {
      addButton.hidden = true;  // rows appear by themselves
    }
  }

  // --- the broadcast page: the progress bar follows progress.json ---

  function setupProgress(page) {
    var url = page.getAttribute("data-progress-url");
    var card = page.querySelector("[data-progress-card]");
    var bar = page.querySelector("[data-broadcast-progress]");

    function text(selector, value) {
      all(page, selector).forEach(function (element) {
        element.textContent = String(value);
      });
    }

    function number(value) {
      return Number(value).toLocaleString("en-US");
    }

    function show(state) {
      page.setAttribute("data-status", state.status);
      card.hidden = state.status === "draft";
      bar.value = state.percent;
      bar.setAttribute("aria-valuenow", String(state.percent));
      bar.textContent = state.percent + " %";
      text("[data-broadcast-status]", state.status_label);
      text("[data-progress-percent]", state.percent);
      text("[data-progress-finished]", number(state.finished));
      text("[data-progress-total]", number(state.to_send));
      Object.keys(state.progress).forEach(function (key) {
        text("[data-progress='" + key + "']", number(state.progress[key]));
      });
      all(page, "[data-when]").forEach(function (element) {
        element.hidden = element.getAttribute("data-when").split(" ").indexOf(state.status) === -1;
      });
    }

    function poll() {
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
        .then(function (response) {
          if (response.redirected || !response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (state) {
          show(state);
          if (!state.done) {
            window.setTimeout(poll, state.status === "paused" ? 3000 : 1000);
          }
        })
        .catch(function () {
          window.setTimeout(poll, 5000);  // the server may be restarting; keep trying, more slowly
        });
    }

    if (page.getAttribute("data-status") !== "draft") {
      poll();
    }
  }

  all(document, "[data-broadcast-form]").forEach(setupForm);
  all(document, "[data-broadcast]").forEach(setupProgress);
}());
