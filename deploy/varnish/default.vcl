# Varnish 7 in front of the paper digest's gunicorn (docs/page-cache.md).
#
# Debian: apt-get install varnish varnish-modules; run with
#   varnishd -a :80 -f /etc/varnish/default.vcl -s malloc,256m
# and tell the app where it is: DIGEST_FRONT_CACHES=127.0.0.1:80 (each
# front cache's address, comma-separated), so that it sends purges here.
#
# What is cached is the app's decision: a public page says how long it may be
# kept (Surrogate-Control: max-age=N) and what it shows (xkey: its keys);
# anything without Surrogate-Control is passed through and never stored. After a
# change the app sends PURGE with the keys it changed (xkey-purge: k1 k2 ...),
# and every object tagged with one of them is gone at once.
#
# Nothing personal is stored: the admin, the API and every request of a
# signed-in user (session cookie) or with pending messages pass straight to the
# app; other cookies are dropped before the look-up, and the app never marks a
# response that sets a cookie as cacheable.

vcl 4.1;

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

# Who may purge: the app servers. Add their addresses here.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "No xkey-purge header"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone + " objects"));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(admin|api|healthz|language)(/|$)") {
        return (pass);
    }
    if (req.http.Cookie ~ "(^|;)\s*(sessionid|messages)=") {
        return (pass);
    }
    # A Chinese (unprefixed) page: a reader who prefers English, by the language
    # cookie or else by Accept-Language, is sent on to /en/ by the app. When that
    # cannot be ruled out here, the app answers.
    if (req.url !~ "^/en(/|\?|$)") {
        if (req.http.Cookie ~ "(^|;)\s*django_language=") {
            if (req.http.Cookie !~ "(^|;)\s*django_language=zh-hans(;|$)") {
                return (pass);
            }
        } elsif (req.http.Accept-Language !~ "^\s*zh" && req.http.Accept-Language ~ "(?i)(^|[\s,])en") {
            return (pass);
        }
    }
    # The page no longer depends on either (Vary names them): one copy for all.
    unset req.http.Cookie;
    set req.http.Accept-Language = "zh-hans";
    return (hash);
}

sub vcl_backend_response {
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+" && !beresp.http.Set-Cookie) {
        set beresp.ttl = std.duration(
            regsub(beresp.http.Surrogate-Control, ".*max-age=([0-9]+).*", "\1") + "s", 0s);
        # A purged page is gone, never served stale while it is fetched again.
        set beresp.grace = 0s;
        unset beresp.http.Surrogate-Control;
    } else {
        # Not the app's to share: fetched afresh for every request.
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
    }
    # The app's Cache-Control (no-cache) is for browsers, which revalidate with
    # the ETag; it must not stop Varnish, so the built-in rules are skipped.
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
