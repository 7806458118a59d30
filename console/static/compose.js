/* The composer's live panel: on every change, ask the server what the client would receive.
 *
 * The server renders the panel (the same template the no-JavaScript "Preview" button uses), so this
 * file only sends the form, swaps the panel in and mirrors a few flags onto the form: the secure
 * toggle's default, the "SMS is not secure" alert, the admin override field and the send button.
 * No inline script anywhere: the page can run under a strict Content-Security-Policy.
 */
(function () {
  "use strict";

  function all(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector));
  }

  function setup(form) {
    var panel = document.getElementById(form.getAttribute("data-panel"));
    var url = form.getAttribute("data-preview-url");
    var toggle = form.querySelector("input[name=secure]");
    var touched = form.querySelector("input[name=secure_touched]");
    var initial = form.querySelector("input[name=secure_initial]");
    var smsAlert = form.querySelector("[data-sms-alert]");
    var override = form.querySelector("[data-override]");
    var sendButton = form.querySelector("button[value=send]");
    var previewButton = form.querySelector("[data-preview-button]");
    var resetLink = form.querySelector("[data-secure-reset]");
    var templateSelect = form.querySelector("select[name=template_id]");
    var csrfToken = form.querySelector("input[name=csrf_token]").value;
    var timer = null;

    function channel() {
      var checked = form.querySelector("input[name=channel]:checked");
      return checked ? checked.value : "sms";
    }

    function syncChannel() {
      var current = channel();
      all(form, "[data-email-only]").forEach(function (el) {
        el.classList.toggle("d-none", current !== "email");
      });
      if (!templateSelect) {
        return;
      }
      all(templateSelect, "[data-channel]").forEach(function (el) {
        var other = el.getAttribute("data-channel") !== current;
        el.hidden = other;
        el.disabled = other;
      });
      var chosen = templateSelect.options[templateSelect.selectedIndex];
      if (chosen && chosen.disabled) {
        templateSelect.value = "";
      }
    }

    function syncAlert() {
      if (!smsAlert) {
        return;
      }
      var current = channel();
      all(smsAlert, "[data-alert-channel]").forEach(function (el) {
        el.classList.toggle("d-none", el.getAttribute("data-alert-channel") !== current);
      });
      if (toggle) {
        smsAlert.classList.toggle("d-none", !((current === "sms" || current === "voice") && !toggle.checked));
      }
    }

    function apply(answer) {
      panel.innerHTML = answer.html;
      if (toggle && touched.value !== "1") {
        toggle.checked = !!answer.toggle_on;
        initial.value = answer.toggle_on ? "1" : "0";
      }
      if (smsAlert) {
        syncAlert();
        smsAlert.classList.toggle("d-none", !answer.sms_alert);
      }
      if (override) {
        override.classList.toggle("d-none", !answer.can_override);
      }
      if (sendButton) {
        sendButton.disabled = !!answer.send_refused;
      }
      if (resetLink) {
        resetLink.classList.toggle("d-none", !touched || touched.value !== "1");
      }
    }

    function failed(signedOut) {
      // The server-side Preview button still works; show it again.
      if (previewButton) {
        previewButton.classList.remove("d-none");
      }
      var note = document.createElement("p");
      note.className = "small text-danger";
      note.textContent = signedOut ? "You have been signed out. Reload the page to sign in again."
        : "The live preview is unavailable. Use the Preview button.";
      panel.insertBefore(note, panel.firstChild);
    }

    var refresh = window.SealedLiveForm.refresher(url, form, csrfToken, apply, failed);

    function schedule(delay) {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, delay);
    }

    function onChange(event) {
      var target = event.target;
      if (target === toggle) {
        touched.value = "1";  // from now on the toggle is this message's own choice
        syncAlert();
      }
      if (target.name === "override_reason") {
        return;  // the reason does not change the decision
      }
      syncChannel();
      schedule(0);
    }

    function onInput(event) {
      var name = event.target.name;
      if (name === "body" || name === "subject") {
        schedule(350);
      }
    }

    // jQuery sees both native changes and the ones select2 triggers; plain listeners miss the latter.
    if (window.jQuery) {
      window.jQuery(form).on("change", onChange);
    } else {
      form.addEventListener("change", onChange);
    }
    form.addEventListener("input", onInput);

    if (resetLink) {
      resetLink.addEventListener("click", function (event) {
        event.preventDefault();
        touched.value = "0";
        schedule(0);
      });
    }
    if (previewButton) {
      previewButton.classList.add("d-none");  // the panel keeps itself current
    }

    var searchable = form.querySelector("select[data-searchable]");
    if (searchable && window.jQuery && window.jQuery.fn.select2) {
      window.jQuery(searchable).select2({width: "100%", placeholder: "Choose a contact…", allowClear: false});
    }
    syncChannel();
  }

  all(document, "form[data-compose]").forEach(setup);
})();
