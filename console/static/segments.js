/* The segment builder: rows of conditions edited in place, and a live count from the server.
 *
 * The form works without this file (its Add, Remove and Count buttons are submit buttons the server
 * handles); here they act on the page instead: rows are cloned from the <template> elements the
 * server rendered, each input shows only for its kind, and every change posts the form to the
 * preview URL (with the CSRF token) and swaps in the count and sample it answers. No inline script:
 * the page runs under the console's strict Content-Security-Policy.
 */
(function () {
  "use strict";

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function setup(form) {
    var url = form.getAttribute("data-preview-url");
    var csrfToken = form.querySelector("input[name=csrf_token]").value;
    var columnOps = JSON.parse(form.getAttribute("data-column-ops") || "{}");
    var valueless = (form.getAttribute("data-valueless-ops") || "").split(" ");
    var panel = document.getElementById("segment-preview");
    var rowTemplate = document.getElementById("segment-row-template");
    var groupTemplate = document.getElementById("segment-group-template");
    var timer = null;

    function syncRow(row) {
      var kind = row.querySelector("[data-role=kind]").value;
      row.setAttribute("data-kind", kind);
      var op = row.querySelector("[data-role=op]");
      var column = row.querySelector("[data-role=column]");
      if (kind === "contact") {
        var allowed = columnOps[column.value] || [];
        all(op, "option").forEach(function (option) {
          option.disabled = allowed.indexOf(option.value) < 0;
        });
        if (op.selectedOptions.length && op.selectedOptions[0].disabled) {
          op.value = allowed[0];
        }
      } else {
        all(op, "option").forEach(function (option) { option.disabled = false; });
      }
      all(row, "[data-show]").forEach(function (el) {
        var show = el.getAttribute("data-show").split(" ").indexOf(kind) >= 0;
        if (show && el.hasAttribute("data-value")) {
          show = valueless.indexOf(op.value) < 0;
        }
        el.hidden = !show;
      });
    }

    function nextPrefix(container, base) {
      var highest = -1;
      all(container, ":scope > [data-condition]").forEach(function (el) {
        var parts = el.getAttribute("data-condition").split("-");
        highest = Math.max(highest, parseInt(parts[parts.length - 1], 10));
      });
      return base + "conditions-" + (highest + 1);
    }

    function insert(template, container, prefix) {
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, prefix);
      var element = holder.firstElementChild;
      container.appendChild(element);
      all(element, "[data-condition][data-kind]").concat(element.matches("[data-kind]") ? [element] : [])
        .forEach(syncRow);
      var first = element.querySelector("select, input:not([type=hidden])");
      if (first) {
        first.focus();
      }
      var empty = form.querySelector("[data-no-rows]");
      if (empty) {
        empty.remove();
      }
    }

    function showErrors(errors) {
      all(form, "[data-row-error]").forEach(function (el) {
        var message = errors[el.getAttribute("data-row-error")];
        el.textContent = message || "";
        el.hidden = !message;
      });
    }

    function failed(signedOut) {
      var note = document.createElement("p");
      note.className = "small text-danger";
      note.textContent = signedOut ? "You have been signed out. Reload the page to sign in again."
        : "The live count is unavailable. Use the Count button.";
      panel.insertBefore(note, panel.firstChild);
      var countButton = form.querySelector("[data-count-button]");
      if (countButton) {
        countButton.classList.remove("d-none");
      }
    }

    var refresh = window.SealedLiveForm.refresher(url, form, csrfToken, function (answer) {
      panel.innerHTML = answer.html;
      showErrors(answer.errors || {});
    }, failed);

    function schedule(delay) {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, delay);
    }

    form.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !form.contains(button)) {
        return;
      }
      var rows = document.getElementById("segment-rows");
      if (button.hasAttribute("data-add-condition")) {
        insert(rowTemplate, rows, nextPrefix(rows, ""));
      } else if (button.hasAttribute("data-add-group")) {
        insert(groupTemplate, rows, nextPrefix(rows, ""));
      } else if (button.hasAttribute("data-add-to")) {
        var group = button.getAttribute("data-add-to");
        var inner = form.querySelector("[data-condition='" + group + "'] > [data-rows]");
        insert(rowTemplate, inner, nextPrefix(inner, group + "-"));
      } else if (button.hasAttribute("data-remove")) {
        var gone = form.querySelector("[data-condition='" + button.getAttribute("data-remove") + "']");
        if (gone) {
          gone.remove();
        }
      } else {
        return;  // Save submits the form
      }
      event.preventDefault();
      schedule(0);
    });

    form.addEventListener("change", function (event) {
      var row = event.target.closest("[data-condition][data-kind]");
      if (row) {
        syncRow(row);
      }
      if (event.target.name !== "name") {
        schedule(0);
      }
    });

    form.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && event.target.tagName === "INPUT") {
        event.preventDefault();  // Enter counts (it would otherwise submit the form)
        schedule(0);
      }
    });

    form.addEventListener("input", function (event) {
      if (event.target.tagName === "INPUT" && event.target.name !== "name") {
        schedule(350);
      }
    });

    all(form, "[data-condition][data-kind]").forEach(syncRow);
    var countButton = form.querySelector("[data-count-button]");
    if (countButton) {
      countButton.classList.add("d-none");  // the count keeps itself current
    }
  }

  all(document, "form[data-segment-builder]").forEach(setup);
})();
