// "Was this page helpful?": one vote per reader per article, changeable, without tracking.
//
// The page is the same bytes for everyone, so the vote id cannot come from the server.
// Instead this browser makes a random id per article, keeps it in localStorage and sends
// it with each vote and comment; the server updates the row for (article, vote id). The id
// is different for every article, is never sent anywhere else, and identifies nobody.
// forms.js does the posting; this module only adds the vote id to the request.

const memory = new Map(); // when localStorage is unavailable (private mode, disabled storage)

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

function voteId(article) {
  const name = `fitspot:vote-id:${article}`;
  try {
    let id = localStorage.getItem(name);
    if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
      id = randomId();
      localStorage.setItem(name, id);
    }
    return id;
  } catch {
    if (!memory.has(name)) memory.set(name, randomId());
    return memory.get(name);
  }
}

// fitspot:submit does not bubble: listen in the capture phase, which reaches the document.
document.addEventListener(
  "fitspot:submit",
  (event) => {
    const form = event.target;
    const article = form instanceof HTMLFormElement ? form.dataset.feedback : undefined;
    if (!article) return;
    const body = event.detail.body;
    if (!body.get("vote_id")) body.set("vote_id", voteId(article));
  },
  true,
);
