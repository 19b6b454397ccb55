// Forms marked `data-enhance` are sent with fetch() instead of a page load.
//
// The contract with the server: a POST with `Accept: application/json` and an
// `Idempotency-Key` header answers JSON `{ok, html}`; `html` is the re-rendered widget
// (thanks, or the form with its errors) and replaces the element marked `data-widget`
// around the form; focus moves to its `[data-focus]` element so that screen readers
// announce it. Without JavaScript the same form posts normally and the server redirects.
//
// Other modules hook in through events on the form:
//   fitspot:submit   (detail.body: URLSearchParams) — add fields before sending
//   fitspot:network-error (detail: {url, body, key}) — the request never reached the server;
//                    a listener that keeps it for later calls event.preventDefault()
//                    (pwa.js does: it queues the request in IndexedDB and sends it when online)
//   fitspot:replaced (on the new widget) — the widget was swapped in
// and ask it, by events on a form, to
//   fitspot:message (detail: {text, kind}) — show a message in the form
//   fitspot:replace (detail: {html, focus}) — swap in a re-rendered widget (pwa.js, once a
//                    form kept offline is sent; it passes focus: false so the reader keeps their place)

const widgets = new WeakSet();

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function showMessage(form, text, kind = "error") {
  let box = form.querySelector("[data-form-message]");
  if (!box) {
    box = document.createElement("div");
    box.setAttribute("data-form-message", "");
    box.tabIndex = -1;
    form.prepend(box);
  }
  box.className = `notice notice--${kind}`;
  box.setAttribute("role", kind === "error" ? "alert" : "status");
  box.textContent = text;
  box.focus();
}

export function replaceWidget(widget, html, focus = true) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  const fresh = template.content.firstElementChild;
  if (!fresh) return;
  widget.replaceWith(fresh);
  enhance(fresh);
  if (focus) {
    const target = fresh.querySelector("[data-focus]") || fresh;
    // A message needs tabindex=-1 to take focus; a text box already can, and must stay in the Tab order.
    if (!target.hasAttribute("tabindex") && target.tabIndex < 0) target.tabIndex = -1;
    target.focus();
  }
  fresh.dispatchEvent(new CustomEvent("fitspot:replaced", { bubbles: true }));
}

async function submit(event) {
  const form = event.currentTarget;
  const submitter = event.submitter;
  event.preventDefault();
  const body = new URLSearchParams(new FormData(form, submitter));
  form.dispatchEvent(new CustomEvent("fitspot:submit", { detail: { body } }));
  const key = body.get("idempotency_key") || newKey();
  body.set("idempotency_key", key);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  const request = { url: form.action, body: body.toString(), key };
  try {
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "Idempotency-Key": key },
        credentials: "same-origin",
      });
    } catch {
      const kept = !form.dispatchEvent(
        new CustomEvent("fitspot:network-error", { detail: request, cancelable: true }),
      );
      if (!kept) showMessage(form, "You seem to be offline. Please try again when you have a connection.");
      return;
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (data && data.html) {
      replaceWidget(form.closest("[data-widget]") || form, data.html);
    } else {
      showMessage(form, (data && data.message) || "Something went wrong. Please try again.");
    }
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

export function enhance(root = document) {
  root.querySelectorAll("form[data-enhance]").forEach((form) => {
    if (widgets.has(form)) return;
    widgets.add(form);
    form.addEventListener("submit", submit);
  });
}

document.addEventListener("fitspot:message", (event) =>
  showMessage(event.target, event.detail.text, event.detail.kind),
);
document.addEventListener("fitspot:replace", (event) =>
  replaceWidget(event.target.closest("[data-widget]") || event.target, event.detail.html, event.detail.focus !== false),
);

enhance();
