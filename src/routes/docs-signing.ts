/**
 * The docs page's own script, served same-origin at /docs/signing.js on Node and Workers alike
 * (a string, so no build step or static file is needed; the page's CSP allows only same-origin
 * scripts, never inline ones). It starts Swagger UI and signs every "Try it out" call in the
 * browser with WebCrypto, as the spec's Authentication section says:
 *
 * - header `{ alg, kid, typ: "coalition-request+jwt" }`; claims `iss`, `aud`, `iat`, `exp` (60 s),
 *   a random `jti` (24 chars), `htm`, `htu` (path and query exactly as fetch sends them, from the
 *   URL parser fetch itself uses), `bsh` (SHA-256 over the exact body string's UTF-8 bytes, which
 *   is what fetch sends for a string body), plus `sub` and `role` for staff;
 * - ES256 is ECDSA P-256 with SHA-256, whose WebCrypto signature is already the raw r‖s JWS wants;
 *   EdDSA is Ed25519 where the browser has it;
 * - a POST without an Idempotency-Key gets `crypto.randomUUID()`.
 *
 * The private key never leaves the tab: the JWK is imported as a non-extractable CryptoKey and the
 * text box cleared; only when the user asks is the JWK kept in sessionStorage for reloads.
 *
 * Plain ES2020 without template literals: the text below is served exactly as written.
 */
export const DOCS_SIGNING_SCRIPT = String.raw`(function () {
  "use strict";
  var TOKEN_TYPE = "coalition-request+jwt";
  var LIFETIME_SECONDS = 60;
  var STORAGE_KEY = "coalesce.docs.signing-key";
  var encoder = new TextEncoder();

  var panel = document.getElementById("signing");
  var form = document.getElementById("key-form");
  var issuerInput = document.getElementById("key-issuer");
  var issuerLabel = document.getElementById("key-issuer-label");
  var subInput = document.getElementById("key-sub");
  var roleSelect = document.getElementById("key-role");
  var audienceInput = document.getElementById("key-audience");
  var jwkInput = document.getElementById("key-jwk");
  var rememberInput = document.getElementById("key-remember");
  var forgetButton = document.getElementById("key-forget");
  var devButton = document.getElementById("key-dev");
  var statusLine = document.getElementById("key-status");
  var logLine = document.getElementById("sign-log");
  var operatorIssuer = panel.getAttribute("data-operator-issuer") || "operator";
  audienceInput.value = panel.getAttribute("data-audience") || "coalition-api";

  // What signs: a non-extractable CryptoKey, its alg and kid, and the claims every token carries.
  var signer = null;

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.setAttribute("data-state", state || "");
  }

  function callerKind() {
    var checked = form.querySelector("input[name=caller]:checked");
    return checked ? checked.value : "partner";
  }

  // Each kind of caller keeps its own issuer while the user switches between them.
  var shownKind = "partner";
  var issuers = { partner: "", staff: operatorIssuer };
  function showCaller(kind) {
    var staff = kind === "staff";
    if (kind !== shownKind) {
      issuers[shownKind] = issuerInput.value;
      issuerInput.value = issuers[kind];
      shownKind = kind;
    }
    form.querySelectorAll("input[name=caller]").forEach(function (radio) { radio.checked = radio.value === kind; });
    form.querySelectorAll("[data-staff]").forEach(function (el) { el.hidden = !staff; });
    issuerLabel.textContent = staff ? "Issuer (iss): the operator issuer" : "Issuer (iss): your partner id";
  }
  form.querySelectorAll("input[name=caller]").forEach(function (radio) {
    radio.addEventListener("change", function () { showCaller(callerKind()); });
  });

  function base64url(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function base64urlJson(value) {
    return base64url(encoder.encode(JSON.stringify(value)));
  }
  function randomId() {
    var raw = new Uint8Array(18);
    crypto.getRandomValues(raw);
    return base64url(raw);
  }

  function storage() {
    try { return window.sessionStorage; } catch (err) { return null; }
  }

  async function importSigningKey(jwk) {
    if (!jwk || typeof jwk !== "object" || Array.isArray(jwk)) throw new Error("The key must be one JWK: a JSON object.");
    if (typeof jwk.kid !== "string" || jwk.kid === "") throw new Error("The JWK needs a \"kid\": the id the key is registered under.");
    if (typeof jwk.d !== "string") throw new Error("This is a public key: paste the private JWK (the one with \"d\").");
    var keyData, params;
    if (jwk.alg === "ES256") {
      if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new Error("An ES256 key has kty EC and crv P-256.");
      keyData = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d };
      params = { name: "ECDSA", namedCurve: "P-256" };
    } else if (jwk.alg === "EdDSA") {
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") throw new Error("An EdDSA key has kty OKP and crv Ed25519.");
      keyData = { kty: "OKP", crv: "Ed25519", x: jwk.x, d: jwk.d };
      params = { name: "Ed25519" };
    } else {
      throw new Error("The JWK's \"alg\" must be ES256 or EdDSA.");
    }
    try {
      return await crypto.subtle.importKey("jwk", keyData, params, false, ["sign"]);
    } catch (err) {
      if (err && err.name === "NotSupportedError") throw new Error("This browser cannot sign with " + jwk.alg + ": use an ES256 key, or a newer browser.");
      throw new Error("The key could not be imported (" + (err && err.message ? err.message : String(err)) + ").");
    }
  }

  // settings: { jwk (object, or null to keep the loaded key), issuer, kind, sub, role, audience, remember, origin }
  async function useKey(settings) {
    // A null jwk keeps the loaded key and changes only who signs (issuer, staff claims, audience).
    var keep = settings.jwk === null && signer !== null;
    var key = keep ? signer.key : await importSigningKey(settings.jwk);
    var alg = keep ? signer.alg : settings.jwk.alg;
    var kid = keep ? signer.kid : settings.jwk.kid;
    var jwk = keep ? signer.jwk : settings.jwk;
    var issuer = settings.issuer.trim();
    var audience = settings.audience.trim();
    if (issuer === "") throw new Error(settings.kind === "staff" ? "Fill in the operator issuer." : "Fill in the issuer: your partner id.");
    if (audience === "") throw new Error("Fill in the audience.");
    var claims = { iss: issuer, aud: audience };
    if (settings.kind === "staff") {
      if (settings.sub.trim() === "") throw new Error("Staff tokens need a staff member (sub).");
      claims.sub = settings.sub.trim();
      claims.role = settings.role;
    }
    var remember = settings.remember && jwk !== null;
    signer = { key: key, alg: alg, kid: kid, claims: claims, jwk: remember ? jwk : null };
    var store = storage();
    if (store) {
      if (remember) {
        store.setItem(STORAGE_KEY, JSON.stringify({ jwk: jwk, issuer: issuer, kind: settings.kind, sub: settings.sub, role: settings.role, audience: audience }));
      } else {
        store.removeItem(STORAGE_KEY);
      }
    }
    jwkInput.value = "";
    var who = settings.kind === "staff" ? claims.sub + " (" + claims.role + ", iss " + issuer + ")" : issuer;
    var note = settings.remember && !remember ? " Paste the key again to keep it for this tab." : "";
    setStatus("Signing calls as " + who + " with key " + kid + " (" + alg + ")" + (settings.origin ? ", " + settings.origin : "") + "." + note, "ready");
  }

  function settingsFromForm(jwk, origin) {
    return {
      jwk: jwk,
      issuer: issuerInput.value,
      kind: callerKind(),
      sub: subInput.value,
      role: roleSelect.value,
      audience: audienceInput.value,
      remember: rememberInput.checked,
      origin: origin,
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var jwk = null;
    var text = jwkInput.value.trim();
    if (text === "") {
      if (!signer) {
        setStatus("Paste a private JWK first.", "error");
        jwkInput.focus();
        return;
      }
    } else {
      try {
        jwk = JSON.parse(text);
      } catch (err) {
        setStatus("The private JWK is not valid JSON.", "error");
        jwkInput.focus();
        return;
      }
    }
    useKey(settingsFromForm(jwk, "")).catch(function (err) { setStatus(err.message, "error"); });
  });

  forgetButton.addEventListener("click", function () {
    signer = null;
    var store = storage();
    if (store) store.removeItem(STORAGE_KEY);
    jwkInput.value = "";
    logLine.textContent = "";
    setStatus("No key loaded: calls go unsigned.", "");
  });

  // Development servers (npm start) offer a demo partner's key; other servers answer 404.
  var devKeyPath = panel.getAttribute("data-dev-key");
  if (devKeyPath) {
    fetch(devKeyPath, { method: "HEAD", cache: "no-store" })
      .then(function (res) { if (res.ok) devButton.hidden = false; })
      .catch(function () { /* no demo key here */ });
    devButton.addEventListener("click", function () {
      fetch(devKeyPath, { cache: "no-store", headers: { accept: "application/json" } })
        .then(function (res) {
          if (!res.ok) throw new Error("This server offers no demo key (only a local npm start does).");
          return res.json();
        })
        .then(function (body) {
          showCaller("partner");
          issuerInput.value = body.issuer;
          return useKey(settingsFromForm(body.private_jwk, "the local demo key"));
        })
        .catch(function (err) { setStatus(err.message, "error"); });
    });
  }

  function headerName(headers, lower) {
    for (var name in headers) if (Object.prototype.hasOwnProperty.call(headers, name) && name.toLowerCase() === lower) return name;
    return null;
  }
  function setHeader(headers, name, value) {
    var existing;
    while ((existing = headerName(headers, name.toLowerCase())) !== null) delete headers[existing];
    headers[name] = value;
  }

  // The bytes fetch will send: a string body goes out as its UTF-8 encoding.
  function bodyBytes(body) {
    if (body === undefined || body === null) return new Uint8Array(0);
    if (typeof body === "string") return encoder.encode(body);
    throw new Error("This page signs text bodies only.");
  }

  async function signRequest(request) {
    if (request.loadSpec) return request;
    var url = new URL(request.url, document.baseURI);
    if (url.origin !== location.origin || url.pathname.indexOf("/v1/") !== 0) return request;
    if (!signer) {
      logLine.textContent = "Sent unsigned: load a key above to sign calls.";
      return request;
    }
    url.hash = "";
    // Path and query exactly as they go on the wire: fetch sends what this same URL parser made.
    request.url = url.href;
    var target = url.href.slice(url.origin.length);
    var method = String(request.method || "GET").toUpperCase();
    var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bodyBytes(request.body)));
    var now = Math.floor(Date.now() / 1000);
    var claims = Object.assign({}, signer.claims, {
      iat: now,
      exp: now + LIFETIME_SECONDS,
      jti: randomId(),
      htm: method,
      htu: target,
      bsh: base64url(digest),
    });
    var input = base64urlJson({ alg: signer.alg, kid: signer.kid, typ: TOKEN_TYPE }) + "." + base64urlJson(claims);
    var params = signer.alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
    var signature = new Uint8Array(await crypto.subtle.sign(params, signer.key, encoder.encode(input)));
    request.headers = request.headers || {};
    setHeader(request.headers, "Authorization", "Bearer " + input + "." + base64url(signature));
    if (method === "POST") {
      var given = headerName(request.headers, "idempotency-key");
      if (given === null || String(request.headers[given]).trim() === "") setHeader(request.headers, "Idempotency-Key", crypto.randomUUID());
    }
    logLine.textContent = "Signed " + method + " " + target + " (jti " + claims.jti + ", valid " + LIFETIME_SECONDS + " s).";
    return request;
  }

  async function requestInterceptor(request) {
    try {
      return await signRequest(request);
    } catch (err) {
      setStatus("Could not sign the call: " + (err && err.message ? err.message : String(err)), "error");
      throw err;
    }
  }

  // The document says the API requires Idempotency-Key; here an empty one is filled in when sent.
  function relaxIdempotencyKeys(spec) {
    var paths = spec.paths || {};
    Object.keys(paths).forEach(function (path) {
      var item = paths[path] || {};
      Object.keys(item).forEach(function (method) {
        var op = item[method];
        if (!op || !Array.isArray(op.parameters)) return;
        op.parameters.forEach(function (p) {
          if (p && p.in === "header" && String(p.name).toLowerCase() === "idempotency-key") {
            p.required = false;
            p.description = (p.description ? p.description + " " : "") + "Required by the API: left empty here, this page sends a fresh random key.";
          }
        });
      });
    });
  }

  if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
    setStatus("This page can sign calls only over https or on localhost/127.0.0.1 (WebCrypto needs a secure context).", "error");
  } else {
    var saved = null;
    var store = storage();
    try { saved = store ? JSON.parse(store.getItem(STORAGE_KEY) || "null") : null; } catch (err) { saved = null; }
    if (saved && saved.jwk) {
      showCaller(saved.kind === "staff" ? "staff" : "partner");
      issuerInput.value = saved.issuer || "";
      subInput.value = saved.sub || "";
      roleSelect.value = saved.role === "finance" ? "finance" : "admin";
      audienceInput.value = saved.audience || audienceInput.value;
      rememberInput.checked = true;
      useKey(settingsFromForm(saved.jwk, "kept for this tab")).catch(function (err) { setStatus(err.message, "error"); });
    }
  }

  fetch("/openapi.json", { headers: { accept: "application/json" } })
    .then(function (res) {
      if (!res.ok) throw new Error("/openapi.json answered " + res.status);
      return res.json();
    })
    .then(function (spec) {
      // "Try it out" calls go to this page's own server: the CSP allows no other (connect-src 'self').
      spec.servers = [{ url: location.origin, description: "This server" }];
      relaxIdempotencyKeys(spec);
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        persistAuthorization: false,
        validatorUrl: null,
        tryItOutEnabled: true,
        requestInterceptor: requestInterceptor,
      });
    })
    .catch(function (err) {
      setStatus("The API description could not be loaded: " + err.message, "error");
    });
})();
`;
