/* Links that only a script gives meaning to, without inline script (the console's CSP refuses it).
 *
 * Some links exist only for a script to handle their click: the list filters' entries (written by
 * admin/console_list.html as href="#" role="button") and, in Flask-Admin's own templates, links
 * written href="javascript:void(0)" (the current tab of a form, dropdown toggles). Following them
 * would jump to the top of the page or, for javascript:, be refused by the policy and reported.
 * This cancels only that navigation, before it is attempted; the handlers Flask-Admin and
 * Bootstrap attach to the same clicks still run.
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (!link) {
      return;
    }
    var href = link.getAttribute("href");
    if (/^\s*javascript:/i.test(href) || (href === "#" && link.getAttribute("role") === "button")) {
      event.preventDefault();
    }
  }, true);
})();
