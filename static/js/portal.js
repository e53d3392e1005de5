// Billing Portal: only what HTML and htmx cannot do under the strict CSP. Row menus are popovers,
// dialogs close with <form method="dialog">, the sheet's address comes from hx-push-url.
// Every feature has a no-JavaScript fallback in the markup (real links and forms).
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  const byId = (id) => document.getElementById(id);
  // What this script says, in the page's language (portal/context_processors.py).
  const texts = JSON.parse(byId("portal-texts")?.textContent || "{}");
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, name) => values[name]);

  // ---- Sidebar: below 960px it hides behind the menu button ----
  function setSidebar(open) {
    const shell = document.querySelector("[data-shell]");
    const toggle = document.querySelector("[data-menu-toggle]");
    if (!shell || shell.classList.contains("sidebar-open") === open) return false;
    shell.classList.toggle("sidebar-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    (open ? shell.querySelector(".sidebar a") : toggle).focus();
    return true;
  }
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-menu-toggle]");
    if (toggle || !event.target.closest(".sidebar")) {
      setSidebar(Boolean(toggle) && toggle.getAttribute("aria-expanded") !== "true");
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && setSidebar(false)) event.preventDefault();
  });

  // ---- The customer switcher submits on change (its button stays for no-JS) ----
  document.addEventListener("change", (event) => {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });
  document.querySelectorAll("[data-autosubmit-fallback]").forEach((button) => { button.hidden = true; });

  // ---- Toasts: from full page loads, and from HX-Trigger "messages" after swaps ----
  const arm = (toast) => toast.classList.contains("toast-error") || setTimeout(() => toast.remove(), 6000);
  function showToast(level, text) {
    const toast = byId("toast-template").content.firstElementChild.cloneNode(true);
    toast.className = "toast toast-" + level;
    if (level === "error") toast.setAttribute("role", "alert");
    toast.querySelector("[data-toast-text]").textContent = text;
    byId("toasts").appendChild(toast);
    arm(toast);
  }
  document.querySelectorAll("#toasts [data-toast]").forEach(arm);
  document.addEventListener("click", (event) => {
    event.target.closest("[data-toast-close]")?.closest("[data-toast]").remove();
  });
  document.body.addEventListener("messages", (event) => {
    event.detail.items.forEach((message) => showToast(message.level, message.text));
  });
  const failures = { 403: texts.forbidden, 404: texts.gone, 0: texts.unreachable };
  ["htmx:responseError", "htmx:sendError"].forEach((name) => {
    document.body.addEventListener(name, (event) => {
      const status = event.detail.xhr.status;
      showToast("error", failures[status] || fill(texts.failed, { status }));
    });
  });

  // ---- The sheet and the modal: <dialog>s that htmx fills ----
  // Links that open the sheet push its address (hx-push-url), so Back closes it: htmx restores
  // the page as it was. Closing it goes back the same way, and focus returns to its link.
  let sheetOpener = null;
  let sheetAddress = null;
  const here = () => location.pathname + location.search;
  document.body.addEventListener("htmx:afterSwap", (event) => {
    // htmx also reports the page it restores from history: that swap has no target.
    const dialog = event.detail.target?.closest("dialog");
    if (!dialog || !["sheet-content", "modal-content"].includes(event.detail.target.id)) return;
    if (dialog.id === "sheet") {
      if (!dialog.open) sheetOpener = here();
      sheetAddress = here(); // moved on by hx-replace-url inside the sheet, or still the same
    }
    if (!dialog.open) dialog.showModal();
    (dialog.querySelector("[autofocus]") || dialog).focus();
  });
  document.addEventListener("click", (event) => {
    // A click on the backdrop lands on the dialog element itself.
    if (event.target.matches("dialog[open]")) event.target.close();
  });
  document.addEventListener("close", (event) => {
    event.target.querySelector("#sheet-content, #modal-content").replaceChildren();
    if (event.target.id === "sheet" && sheetAddress === here()) history.back();
  }, true); // "close" does not bubble
  document.body.addEventListener("htmx:historyRestore", () => {
    if (sheetOpener) document.querySelector(`a[href="${CSS.escape(sheetOpener)}"]`)?.focus();
    sheetOpener = sheetAddress = null;
  });

  // ---- Row menus: popovers; focus goes to the first item, arrows move between them ----
  document.addEventListener("toggle", (event) => {
    if (event.target.matches("[role=menu]") && event.newState === "open") {
      event.target.querySelector("[role=menuitem]").focus();
    }
  }, true);
  document.addEventListener("keydown", (event) => {
    const menu = event.target.closest("[role=menu]");
    if (!menu) return;
    const items = Array.from(menu.querySelectorAll("[role=menuitem]"));
    const index = items.indexOf(event.target);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length].focus();
    }
  });
  document.addEventListener("click", (event) => {
    event.target.closest("[role=menuitem]")?.closest("[popover]").hidePopover();
  });

  // ---- Tabs on one row scroll sideways: the current one is scrolled into view ----
  function showCurrentTabs() {
    document.querySelectorAll(".tabs").forEach((tabs) => {
      const current = tabs.querySelector("[aria-current=page]");
      if (current && tabs.scrollWidth > tabs.clientWidth) {
        tabs.scrollLeft = current.offsetLeft - (tabs.clientWidth - current.offsetWidth) / 2;
      }
    });
  }
  document.body.addEventListener("htmx:afterSettle", showCurrentTabs);
  showCurrentTabs();

  // ---- Invoice rows: a click anywhere on a row opens it, like its number link ----
  document.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-row-link]");
    if (row && !event.target.closest("a, button, input, label, [popover]")) {
      row.querySelector(".invoice-link").click();
    }
  });

  // ---- Selecting invoices to download or pay together ----
  function updateSelection() {
    const form = document.querySelector("[data-selection]");
    if (!form) return;
    const boxes = Array.from(document.querySelectorAll("[data-select-row]"));
    const chosen = boxes.filter((box) => box.checked).length;
    const selected = chosen === 1 ? texts.selected_one : texts.selected_other;
    form.querySelector("[data-selection-count]").textContent = chosen
      ? fill(selected, { count: chosen }) : texts.select_invoices;
    form.querySelectorAll("[data-selection-action]").forEach((button) => { button.disabled = !chosen; });
    const all = document.querySelector("[data-select-all]") || {};
    all.checked = chosen > 0 && chosen === boxes.length;
    all.indeterminate = chosen > 0 && chosen < boxes.length;
  }
  document.addEventListener("change", (event) => {
    const all = event.target.matches("[data-select-all]");
    if (all) document.querySelectorAll("[data-select-row]").forEach((box) => { box.checked = event.target.checked; });
    if (all || event.target.matches("[data-select-row]")) updateSelection();
  });
  document.body.addEventListener("htmx:afterSettle", updateSelection);
  updateSelection();

  // ---- A payment form submits once, however often it is clicked ----
  document.addEventListener("submit", (event) => {
    const button = event.target.querySelector("[data-disable-on-submit]");
    if (!button) return;
    if (button.dataset.submitted) event.preventDefault();
    button.dataset.submitted = "true";
    button.setAttribute("aria-disabled", "true");
  });
  // Coming back from Stripe with the Back button restores the page as it was left.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("[data-disable-on-submit]").forEach((button) => {
      delete button.dataset.submitted;
      button.removeAttribute("aria-disabled");
    });
  });
})();
