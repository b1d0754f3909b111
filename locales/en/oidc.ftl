## Login at the ward's identity provider (OpenID Connect) — English. Same keys as locales/ja/oidc.ftl.

oidc-continue-title = You are logged in
oidc-continue-lead = The ward's identity provider has confirmed who you are. Continue to the console with the button below.
oidc-continue-link = Continue to the console
oidc-continue-why = Right after the identity provider sends you back, the browser does not yet use your login, for safety; this page comes in between once.
