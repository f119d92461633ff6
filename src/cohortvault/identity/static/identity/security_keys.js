// Adding a security key: once django-otp-webauthn's script has registered the key, send its id
// with the chosen name (the form's action names it). Enter in the name field starts the key.
(function () {
  "use strict";
  var form = document.getElementById("security-key-form");
  if (!form) {
    return;
  }
  var credential = form.elements.namedItem("credential");
  document.addEventListener("otp_webauthn.register_complete", function (event) {
    credential.value = String(event.detail.id);
    form.submit();
  });
  form.addEventListener("submit", function (event) {
    if (!credential.value) {
      event.preventDefault();
      var button = document.getElementById("passkey-register-button");
      if (button) {
        button.click();
      }
    }
  });
})();
