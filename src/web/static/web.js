// Copy buttons: the only thing on these pages that needs JavaScript. Each button names the
// element whose text it copies (data-copy="<id>") and stays hidden until this script shows it,
// so without JavaScript nobody sees a button that does nothing. The outcome is announced in the
// page's aria-live region (#copy-status) for screen readers, and on the button itself.
(function () {
  'use strict';
  var status = document.getElementById('copy-status');

  function announce(message) {
    if (!status) return;
    // Clearing first makes screen readers announce the same message twice in a row.
    status.textContent = '';
    window.setTimeout(function () { status.textContent = message; }, 30);
  }

  function textOf(target) {
    return 'value' in target && typeof target.value === 'string' ? target.value : target.textContent || '';
  }

  function select(target) {
    if (typeof target.select === 'function') {
      target.focus();
      target.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    if (selection) {
      selection.removeAllRanges();
      selection.addRange(range);
    }
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return Promise.reject(new Error('no clipboard'));
  }

  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    var label = button.textContent;
    var what = button.getAttribute('data-copy-what') || 'Text';
    button.hidden = false;
    button.addEventListener('click', function () {
      copy(textOf(target)).then(
        function () {
          button.textContent = 'Copied';
          announce(what + ' copied to the clipboard.');
          window.setTimeout(function () { button.textContent = label; }, 2000);
        },
        function () {
          select(target);
          announce('Could not copy automatically. ' + what + ' is selected: press Ctrl+C (or Command+C) to copy it.');
        }
      );
    });
  });
})();
