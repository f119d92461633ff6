/*
 * Uploads with a progress bar per file: progressive enhancement of the folder page's form.
 *
 * Without JavaScript the form posts every file in one multipart request, which the server
 * holds in memory and therefore caps. With it, each file goes to the REST API on its own as a
 * streamed PUT of the raw bytes (/api/v1/files/<folder>/<name>), so large files work too; the
 * listing is then refreshed in place. The page's Content-Security-Policy allows scripts from
 * 'self' only, so everything here lives in this file and sets no inline styles.
 */
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.DOMParser) {
    return;
  }
  const input = form.querySelector('input[type="file"]');
  const button = form.querySelector('button[type="submit"]');
  const list = document.getElementById("upload-progress");
  const summary = document.getElementById("upload-summary");
  const token = form.querySelector('input[name="csrfmiddlewaretoken"]').value;

  /** Percent-encode each segment of an area path, keeping the slashes between them. */
  const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");
  const target = form.dataset.api + encodePath(form.dataset.folder) + "/";

  const units = ["bytes", "KB", "MB", "GB", "TB"];
  const size = (bytes) => {
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
  };

  const errorMessage = (xhr) => {
    try {
      const body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (notJson) {
      // fall through to the status
    }
    if (xhr.status === 401 || xhr.status === 403) {
      return "Your session has ended or the request was refused; reload the page and sign in.";
    }
    return `The server answered ${xhr.status || "nothing (connection lost)"}.`;
  };

  const progressRow = (file) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    bar.setAttribute("aria-label", `Upload of ${file.name}`);
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = `waiting · ${size(file.size)}`;
    item.append(name, bar, status);
    list.append(item);
    return { item, bar, status };
  };

  /** Send one file; resolves to true once the server confirmed it was stored. */
  const send = (file, row) =>
    new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const fail = (message) => {
        row.item.classList.add("failed");
        row.status.textContent = message;
        resolve(false);
      };
      xhr.open("PUT", target + encodeURIComponent(file.name));
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total > 0) {
          row.bar.value = Math.min(event.loaded, event.total) * (row.bar.max / event.total);
          row.status.textContent = `${Math.floor((100 * event.loaded) / event.total)} %`;
        }
      });
      xhr.addEventListener("load", () => {
        if (xhr.status === 201) {
          row.bar.value = row.bar.max;
          row.item.classList.add("done");
          row.status.textContent = `stored · ${size(file.size)}`;
          resolve(true);
        } else {
          fail(errorMessage(xhr));
        }
      });
      xhr.addEventListener("error", () => fail("The connection was lost; nothing was stored."));
      xhr.addEventListener("abort", () => fail("The upload was cancelled; nothing was stored."));
      row.status.textContent = "uploading";
      xhr.send(file);
    });

  /** Fetch the folder page again and swap in its listing (no full reload: the bars stay). */
  const refreshListing = async () => {
    const response = await fetch(window.location.href, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!response.ok) {
      return;
    }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("listing");
    const current = document.getElementById("listing");
    if (fresh && current) {
      current.replaceWith(document.adoptNode(fresh));
    }
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(input.files);
    if (files.length === 0) {
      return;
    }
    button.disabled = true;
    input.disabled = true;
    list.replaceChildren();
    list.hidden = false;
    summary.hidden = false;
    summary.classList.remove("failed");
    summary.textContent = `Uploading ${files.length} file${files.length === 1 ? "" : "s"}…`;
    const rows = files.map(progressRow);
    let stored = 0;
    for (let i = 0; i < files.length; i += 1) {
      if (await send(files[i], rows[i])) {
        stored += 1;
      }
    }
    const failed = files.length - stored;
    summary.textContent =
      `Stored ${stored} of ${files.length} file${files.length === 1 ? "" : "s"}.` +
      (failed ? ` ${failed} could not be stored; see below.` : "");
    summary.classList.toggle("failed", failed > 0);
    form.reset();
    button.disabled = false;
    input.disabled = false;
    if (stored > 0) {
      try {
        await refreshListing();
      } catch (networkError) {
        window.location.reload();
      }
    }
  });
})();
