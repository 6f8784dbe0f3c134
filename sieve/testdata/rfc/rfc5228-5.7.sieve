# The tests of RFC 5228 section 5.7, each given an action.
if header :is ["X-Caffeine"] [""] { redirect "is@example.com"; }
if header :contains ["X-Caffeine"] [""] { redirect "contains@example.com"; }
if not header :matches "Cc" "?*" { redirect "nocc@example.com"; }
