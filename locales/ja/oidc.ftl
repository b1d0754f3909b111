## 区の認証基盤（OpenID Connect）によるログイン — 日本語。キーは locales/en/oidc.ftl と同じ。

oidc-continue-title = ログインしました
oidc-continue-lead = 区の認証基盤で本人確認ができました。次のボタンからコンソールへ進んでください。
oidc-continue-link = コンソールへ進む
oidc-continue-why = 認証基盤から戻った直後の画面では、安全のためログイン情報がまだ使えません。この画面を一度はさんでいます。
