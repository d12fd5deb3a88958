// photodup review page: keyboard shortcuts and scan progress. Plain JavaScript, no network
// beyond this server. Every state change goes through a POST form carrying the CSRF token.
(function () {
  "use strict";
  const page = document.body.dataset.page;
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));

  function typing(event) {
    const el = event.target;
    return el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) && el.type !== "radio");
  }

  function go(link) {
    if (link && link.getAttribute("href") && link.getAttribute("href") !== "#") {
      window.location.href = link.href;
    }
  }

  function submitUndo() {
    const button = $("#undo-button");
    if (button && !button.disabled) button.form.requestSubmit(button);
  }

  // --- group view: choose the keeper, keep, dismiss, move between groups ----------------
  function updateKeeperName() {
    const checked = $(".keeper-radio:checked");
    const name = $("#keeper-name");
    if (checked && name) {
      name.textContent = checked.closest(".photo").dataset.path;
    }
  }

  function groupKeys(event) {
    const radios = $$(".keeper-radio");
    if (/^[1-9]$/.test(event.key)) {
      const radio = radios[Number(event.key) - 1];
      if (radio) { radio.checked = true; radio.focus({ preventScroll: true }); updateKeeperName(); }
      return true;
    }
    switch (event.key) {
      case "Enter": $("#keep-button").form.requestSubmit($("#keep-button")); return true;
      case "n": {
        const dismiss = $("#dismiss-button");
        if (!dismiss.disabled) dismiss.form.requestSubmit(dismiss); // not for identical files
        return true;
      }
      case "j": case "ArrowRight": go($("#next-group")); return true;
      case "k": case "ArrowLeft": go($("#prev-group")); return true;
      case "f": {
        const checked = $(".keeper-radio:checked");
        const zoom = checked && checked.closest(".photo").querySelector(".zoom");
        if (zoom) window.open(zoom.href, "_blank", "noopener");
        return true;
      }
      default: return false;
    }
  }

  // --- lists: j/k moves a focus ring, Enter opens, arrows turn the page ------------------
  let focused = -1;
  function focusCard(cards, index, smooth) {
    focused = index;
    cards.forEach((c, i) => c.classList.toggle("focused", i === focused));
    cards[focused].scrollIntoView({ block: "nearest", behavior: smooth ? "smooth" : "auto" });
  }

  function listKeys(event) {
    const cards = $$(".list-card");
    switch (event.key) {
      case "ArrowLeft": go($("#page-prev")); return true;
      case "ArrowRight": go($("#page-next")); return true;
      default: break;
    }
    if (!cards.length) return false;
    if (event.key === "j" || event.key === "k") {
      focusCard(cards, Math.max(0, Math.min(cards.length - 1, focused + (event.key === "j" ? 1 : -1))), true);
      return true;
    }
    if (event.key === "Enter" && focused >= 0) { go(cards[focused]); return true; }
    return false;
  }

  // Back from a group (its link ends in #g-KEY): carry on from that card.
  if (page === "groups" && window.location.hash.startsWith("#g-")) {
    const cards = $$(".list-card");
    const index = cards.findIndex((c) => "#" + c.id === window.location.hash);
    if (index >= 0) focusCard(cards, index, false);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    let handled = false;
    if (page === "group") handled = groupKeys(event);
    else if (page === "groups") handled = listKeys(event);
    if (!handled) {
      if (event.key === "u") { submitUndo(); handled = true; }
      else if (event.key === "g") { window.location.href = $("#back-to-list") ? $("#back-to-list").href : "/groups"; handled = true; }
      else if (event.key === "o") { window.location.href = "/"; handled = true; }
    }
    if (handled) event.preventDefault();
  });
  $$(".keeper-radio").forEach((r) => r.addEventListener("change", updateKeeperName));

  // --- overview: poll the scan while it runs --------------------------------------------
  // The bar's width is set here, not in a style attribute: the CSP allows no inline style.
  const bar = $("#scan-bar");
  if (bar) bar.style.width = bar.dataset.percent + "%";
  const card = $("#scan-card");
  if (card && card.dataset.active === "true") {
    const timer = setInterval(async () => {
      let status;
      try {
        const response = await fetch("/api/scan", { headers: { Accept: "application/json" } });
        status = await response.json();
      } catch (err) {
        return; // the server restarts or is busy: try again on the next tick
      }
      $("#scan-state").textContent = status.state;
      $("#scan-state").className = "state state-" + status.state;
      $("#scan-message").textContent = status.message;
      $("#scan-bar").style.width = status.percent + "%";
      $("#scan-count").textContent = status.total ? status.done + " / " + status.total + " files" : "";
      if (!status.active) {
        clearInterval(timer);
        window.location.reload(); // fresh counts and groups
      }
    }, 700);
  }
})();
