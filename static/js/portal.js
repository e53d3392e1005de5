// Billing Portal: the little behaviour the server-rendered pages need on top of htmx.
// Every feature here has a no-JavaScript fallback in the markup (real links and forms).
(function () {
  "use strict";

  document.documentElement.classList.remove("no-js");

  // ---- Sidebar (below 960px it hides behind the menu button) ----
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-menu-toggle]");
    const shell = document.querySelector("[data-shell]");
    if (!shell) return;
    if (toggle) {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      shell.classList.toggle("sidebar-open", open);
      if (open) shell.querySelector(".sidebar a").focus();
    } else if (shell.classList.contains("sidebar-open") && !event.target.closest(".sidebar")) {
      closeSidebar();
    }
  });

  function closeSidebar() {
    const shell = document.querySelector("[data-shell]");
    const toggle = document.querySelector("[data-menu-toggle]");
    if (!shell || !shell.classList.contains("sidebar-open")) return false;
    shell.classList.remove("sidebar-open");
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
    return true;
  }

  // ---- Customer switcher: submit on change (the button stays for no-JS) ----
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
  });
  document.querySelectorAll("[data-autosubmit-fallback]").forEach(function (b) { b.hidden = true; });

  // ---- Toasts: server messages on full loads, and from HX-Trigger "messages" after swaps ----
  const TOAST_MS = 6000;

  function armToast(toast) {
    if (!toast.classList.contains("toast-error")) {
      setTimeout(function () { dismissToast(toast); }, TOAST_MS);
    }
  }

  function dismissToast(toast) {
    toast.classList.add("hiding");
    setTimeout(function () { toast.remove(); }, 200);
  }

  function showToast(level, text) {
    const template = document.getElementById("toast-template");
    const toast = template.content.firstElementChild.cloneNode(true);
    toast.className = "toast toast-" + level;
    if (level === "error") toast.setAttribute("role", "alert");
    toast.querySelector("[data-toast-text]").textContent = text;
    document.getElementById("toasts").appendChild(toast);
    armToast(toast);
  }

  document.querySelectorAll("#toasts [data-toast]").forEach(armToast);
  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-toast-close]");
    if (close) dismissToast(close.closest("[data-toast]"));
  });
  document.body.addEventListener("messages", function (event) {
    event.detail.items.forEach(function (m) { showToast(m.level, m.text); });
  });
  // A failed htmx request would otherwise do nothing visible.
  document.body.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = status === 403 ? "You do not have permission to do that."
      : status === 404 ? "That is no longer here. Reload the page."
      : "Something went wrong (" + status + "). Please try again.";
    showToast("error", text);
  });
  document.body.addEventListener("htmx:sendError", function () {
    showToast("error", "The portal could not be reached. Check your connection and try again.");
  });

  // ---- Sheet: a <dialog> that htmx fills. While it is open the address bar shows its URL
  // (a reload or a shared link opens the same thing as a full page); closing restores the
  // page's own URL. Body swaps by htmx history replace the dialog, so look it up each time.
  let underlying = null; // { url, state } of the page beneath an open sheet

  function currentSheet() {
    return document.getElementById("sheet");
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "sheet-content") return;
    const sheet = currentSheet();
    const url = event.detail.pathInfo.requestPath;
    if (!underlying) underlying = { url: location.href, state: history.state };
    history.replaceState({ sheet: url }, "", url);
    if (!sheet.open) sheet.showModal();
    (sheet.querySelector("[autofocus]") || sheet).focus();
  });

  document.addEventListener("click", function (event) {
    const sheet = currentSheet();
    if (!sheet || !sheet.open) return;
    // A click on the backdrop lands on the dialog element itself.
    if (event.target === sheet || event.target.closest("[data-close-sheet]")) sheet.close();
  });

  // "close" does not bubble: listen in the capture phase (Escape, button, backdrop).
  document.addEventListener("close", function (event) {
    if (event.target.id === "modal") event.target.querySelector("#modal-content").replaceChildren();
    if (event.target.id !== "sheet") return;
    event.target.querySelector("#sheet-content").replaceChildren();
    if (underlying) {
      history.replaceState(underlying.state, "", underlying.url);
      underlying = null;
    }
  }, true);

  window.addEventListener("popstate", function (event) {
    const sheet = currentSheet();
    if (sheet && sheet.open) {
      underlying = null; // we are leaving; the entry we left keeps the sheet's URL
      sheet.close();
    }
    if (event.state && event.state.sheet) {
      htmx.ajax("GET", event.state.sheet, { target: "#sheet-content" });
    }
  });

  // ---- Modal dialog (e.g. the rundown of dues): centred, no URL of its own ----
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "modal-content") return;
    const modal = document.getElementById("modal");
    if (!modal.open) modal.showModal();
    (modal.querySelector("[autofocus]") || modal).focus();
  });
  document.addEventListener("click", function (event) {
    const modal = document.getElementById("modal");
    if (!modal || !modal.open) return;
    if (event.target === modal || event.target.closest("[data-close-dialog]")) modal.close();
  });

  // ---- Row menus (three dots): a button that opens a list of menu items ----
  function menuItems(menu) {
    return Array.from(menu.querySelectorAll("[role=menuitem]"));
  }

  function openMenu(button, focusLast) {
    closeMenus();
    const list = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", "true");
    list.hidden = false;
    const items = menuItems(list);
    items[focusLast ? items.length - 1 : 0].focus();
  }

  function closeMenus(returnFocus) {
    let closed = false;
    document.querySelectorAll("[data-menu-button][aria-expanded=true]").forEach(function (button) {
      button.setAttribute("aria-expanded", "false");
      document.getElementById(button.getAttribute("aria-controls")).hidden = true;
      if (returnFocus) button.focus();
      closed = true;
    });
    return closed;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-menu-button]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") closeMenus(true);
      else openMenu(button, false);
      return;
    }
    if (!event.target.closest("[role=menu]")) closeMenus(false);
    else if (event.target.closest("[role=menuitem]")) closeMenus(false);
  });

  document.addEventListener("keydown", function (event) {
    const button = event.target.closest("[data-menu-button]");
    if (button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      openMenu(button, event.key === "ArrowUp");
      return;
    }
    const menu = event.target.closest("[role=menu]");
    if (!menu) return;
    const items = menuItems(menu);
    const index = items.indexOf(event.target);
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 };
    if (event.key in moves) {
      event.preventDefault();
      items[(moves[event.key] + items.length) % items.length].focus();
    } else if (event.key === "Escape" || event.key === "Tab") {
      if (event.key === "Escape") event.preventDefault();
      closeMenus(event.key === "Escape");
    }
  });

  // ---- Invoice rows: a click anywhere on a row opens it, like its number link ----
  document.addEventListener("click", function (event) {
    const row = event.target.closest("tr[data-row-link]");
    if (!row || event.target.closest("a, button, input, label, [role=menu]")) return;
    row.querySelector(".invoice-link").click();
  });

  // ---- Selecting invoices for a ZIP download ----
  function updateSelection() {
    const form = document.querySelector("[data-selection]");
    if (!form) return;
    const boxes = Array.from(document.querySelectorAll("[data-select-row]"));
    const chosen = boxes.filter(function (box) { return box.checked; }).length;
    form.querySelector("[data-selection-count]").textContent = chosen
      ? chosen + " selected"
      : "Select invoices to download or pay several at once.";
    form.querySelectorAll("[data-selection-action]").forEach(function (button) {
      button.disabled = chosen === 0;
    });
    const all = document.querySelector("[data-select-all]");
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-select-row]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-select-all], [data-select-row]")) updateSelection();
  });
  document.body.addEventListener("htmx:afterSettle", updateSelection);
  updateSelection();

  // ---- A payment form submits once, however often it is clicked ----
  document.addEventListener("submit", function (event) {
    const button = event.target.querySelector("[data-disable-on-submit]");
    if (!button) return;
    if (button.dataset.submitted) event.preventDefault();
    button.dataset.submitted = "true";
    button.setAttribute("aria-disabled", "true");
  });
  // Coming back from Stripe with the Back button restores the page as it was left.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("[data-disable-on-submit]").forEach(function (button) {
      delete button.dataset.submitted;
      button.removeAttribute("aria-disabled");
    });
  });

  // ---- Escape closes the innermost open thing (the dialog handles its own) ----
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (closeMenus(true) || closeSidebar()) event.preventDefault();
  });
})();
