/*
 * ChatPlatform chat widget. One line adds a persona's chat to any page:
 *   <script src="https://chat.example.org/widget.js" data-persona="gradchat"></script>
 * Optional: data-locale="zh-CN" (default: the browser's language), data-height="520px",
 * data-target="#element-id" (render there instead of right after the script tag).
 * The widget asks the server for a Direct Line token (no secret on the page), loads the Web Chat bundle the
 * server serves, and talks to the persona over Direct Line with a WebSocket stream.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  var scriptUrl = new URL(script ? script.src : 'widget.js', location.href);
  var server = scriptUrl.href.replace(/\/widget\.js(\?.*)?$/, '');
  var bundle = null;

  function loadWebChat() {
    if (window.WebChat) return Promise.resolve(window.WebChat);
    if (!bundle) {
      bundle = new Promise(function (resolve, reject) {
        var s = document.createElement('script');
        s.src = server + '/webchat/webchat.js';
        s.async = true;
        s.onload = function () { resolve(window.WebChat); };
        s.onerror = function () { bundle = null; reject(new Error('The Web Chat bundle could not be loaded from ' + s.src + '.')); };
        document.head.appendChild(s);
      });
    }
    return bundle;
  }

  function showError(box, message) {
    box.innerHTML = '';
    var p = document.createElement('div');
    p.className = 'chatplatform-widget-error';
    p.setAttribute('role', 'alert');
    p.style.cssText = 'padding:1rem;margin:1rem;border-radius:.5rem;background:#fde8e8;color:#7a1c1c;font:15px/1.5 system-ui,sans-serif;';
    p.textContent = 'Chat unavailable: ' + message;
    box.appendChild(p);
  }

  /** Renders the chat of options.persona into element; resolves with the token response or rejects with the error shown. */
  function mount(element, options) {
    options = options || {};
    var box = document.createElement('div');
    box.className = 'chatplatform-widget';
    box.setAttribute('data-persona', options.persona || '');
    box.style.cssText = 'height:' + (options.height || '520px') + ';border:1px solid #d9dee6;border-radius:.6rem;overflow:hidden;background:#fff;';
    box.textContent = 'Connecting…';
    element.appendChild(box);

    var locale = options.locale || navigator.language || 'en';
    return fetch(server + '/api/widget/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ persona: options.persona || '', locale: locale })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var error = (body && body.error) || {};
          throw new Error(error.message || ('the server answered HTTP ' + response.status + '.'));
        }
        return body;
      });
    }).then(function (session) {
      return loadWebChat().then(function (WebChat) {
        box.textContent = '';
        WebChat.renderWebChat({
          directLine: WebChat.createDirectLine({ domain: server + session.domain, token: session.token, webSocket: true }),
          userID: session.userId,
          username: options.username || '',
          locale: session.locale,
          styleOptions: { hideUploadButton: true, botAvatarInitials: (session.personaName || '?').slice(0, 2), userAvatarInitials: '' }
        }, box);
        return session;
      });
    }).catch(function (error) {
      showError(box, error.message || String(error));
      throw error;
    });
  }

  window.ChatPlatformWidget = { mount: mount, server: server };

  if (script && script.dataset.persona !== undefined) {
    var target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
    if (!target) {
      target = document.createElement('div');
      script.parentNode.insertBefore(target, script.nextSibling);
    }
    mount(target, { persona: script.dataset.persona, locale: script.dataset.locale, height: script.dataset.height })
      .catch(function () { /* shown in the widget */ });
  }
})();
