from crawler.urls import in_domains, normalize_url, strip_tracking

TRACKING = ["utm_*", "fbclid", "gclid"]


def test_tracking_parameters_are_stripped_and_rest_kept() -> None:
    url = "https://News.Example:443/a/b.html?utm_source=x&utm_medium=y&id=3&fbclid=z#top"
    assert normalize_url(url, TRACKING) == "https://news.example/a/b.html?id=3"


def test_query_order_and_default_port_do_not_matter() -> None:
    assert normalize_url("http://e.com:80/p?b=2&a=1") == normalize_url("http://e.com/p?a=1&b=2")


def test_non_default_port_is_kept() -> None:
    assert normalize_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"


def test_strip_tracking_leaves_url_without_query_alone() -> None:
    assert strip_tracking("https://e.com/a", TRACKING) == "https://e.com/a"


def test_in_domains_matches_subdomains_not_lookalikes() -> None:
    assert in_domains("https://www.example.com/x", ["example.com"])
    assert in_domains("http://127.0.0.1:9999/x", ["127.0.0.1"])
    assert not in_domains("https://notexample.com/x", ["example.com"])
    assert not in_domains("https://example.com.evil.net/x", ["example.com"])
