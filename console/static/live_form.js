/* A form's live answer from the console without submitting it (the composer's preview, the segment
   builder's count): the form is posted with the CSRF token, and only the newest answer is applied,
   so a slow answer to an older edit never overwrites a newer one. */
(function () {
  "use strict";

  function post(url, form, csrfToken) {
    var data = new FormData(form);
    data.delete("files");  // a live answer never needs the uploads: they go with the real submit only
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken, "Accept": "application/json"}
    }).then(function (response) {
      if (response.redirected) {  // the session ended: the answer is the sign-in page
        throw new Error("signed out");
      }
      if (!response.ok) {
        throw new Error("preview answered " + response.status);
      }
      return response.json();
    });
  }

  // refresher(url, form, token, apply, failed) → a function that asks again; apply(answer) gets
  // the newest answer only, failed(signedOut) is told when the newest request failed.
  window.SealedLiveForm = {
    refresher: function (url, form, csrfToken, apply, failed) {
      var sequence = 0;
      return function refresh() {
        var mine = ++sequence;
        post(url, form, csrfToken).then(function (answer) {
          if (mine === sequence) {
            apply(answer);
          }
        }).catch(function (error) {
          if (mine === sequence) {
            failed(error.message === "signed out");
          }
        });
      };
    }
  };
}());
