// Canopy staff workspace. Every page works without this file except
// passkeys, which need the browser's WebAuthn API. It adds: passkey
// registration and sign-in, copy buttons, focus on an error summary, and
// the countdown of a revealed evidence image.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // Copy buttons copy the text of the element named by data-copy-from.
  if (navigator.clipboard) {
    Array.prototype.forEach.call(document.querySelectorAll("button.copy[data-copy-from]"), function (b) {
      var from = document.getElementById(b.getAttribute("data-copy-from"));
      if (!from) { return; }
      b.hidden = false;
      var label = b.innerHTML;
      b.addEventListener("click", function () {
        var text = from.value !== undefined && from.tagName !== "OL" ? from.value : from.innerText;
        navigator.clipboard.writeText(text.trim()).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.innerHTML = label; }, 2000);
        });
      });
    });
  }

  // A revealed image counts down to its blurring; the page's refresh
  // blurs it again without scripts too.
  Array.prototype.forEach.call(document.querySelectorAll("[data-seconds-left]"), function (el) {
    var left = parseInt(el.getAttribute("data-seconds-left"), 10);
    if (!(left > 0)) { return; }
    var show = function () { el.textContent = " (" + left + (left === 1 ? " second" : " seconds") + " left)"; };
    show();
    var timer = setInterval(function () {
      left -= 1;
      if (left > 0) { show(); return; }
      clearInterval(timer);
      window.location.replace(el.getAttribute("data-then"));
    }, 1000);
  });

  // Passkeys. The server's options are WebAuthn JSON (base64url for
  // binary members); browsers that cannot parse them natively get them
  // decoded here.
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }
  document.documentElement.classList.add("webauthn");

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(o); }
    o.challenge = b64urlToBuf(o.challenge);
    o.user.id = b64urlToBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(o); }
    o.challenge = b64urlToBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return o;
  }
  function credentialJSON(c) {
    if (typeof c.toJSON === "function") { return c.toJSON(); }
    var r = c.response, resp = { clientDataJSON: bufToB64url(r.clientDataJSON) };
    if (r.attestationObject) { resp.attestationObject = bufToB64url(r.attestationObject); }
    if (r.authenticatorData) { resp.authenticatorData = bufToB64url(r.authenticatorData); }
    if (r.signature) { resp.signature = bufToB64url(r.signature); }
    resp.userHandle = r.userHandle ? bufToB64url(r.userHandle) : null;
    return { id: c.id, rawId: bufToB64url(c.rawId), type: c.type, response: resp };
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) { throw new Error(j.error || "The node refused this."); }
        return j;
      });
    });
  }
  function ceremony(button, begin, finish, browserCall, extra) {
    var status = document.getElementById(button.getAttribute("data-status"));
    var csrf = button.getAttribute("data-csrf");
    var say = function (t) { if (status) { status.textContent = t; } };
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      say("Follow the steps your browser shows.");
      post(begin, csrf).then(function (b) {
        return browserCall(b.options.publicKey).then(function (cred) {
          var body = { ticket: b.ticket, credential: credentialJSON(cred) };
          if (extra) { extra(body); }
          return post(finish, csrf, body);
        });
      }).then(function (done) {
        say("Done.");
        window.location.assign(done.next);
      }).catch(function (e) {
        button.disabled = false;
        say(e && e.name === "NotAllowedError" ? "The passkey was not used. You can try again." : (e.message || "That did not work. Please try again."));
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.passkey-register"), function (b) {
    ceremony(b, "/staff/passkey/register/begin", "/staff/passkey/register/finish", function (o) {
      return navigator.credentials.create({ publicKey: creationOptions(o) });
    }, function (body) {
      var from = document.getElementById(b.getAttribute("data-name-from") || "");
      body.name = (from && from.value) || b.getAttribute("data-name") || "Passkey";
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("button.passkey-login"), function (b) {
    ceremony(b, "/staff/passkey/login/begin", "/staff/passkey/login/finish", function (o) {
      return navigator.credentials.get({ publicKey: requestOptions(o) });
    });
  });
})();
