"""Error text an operator reads (results, audit rows, logs): the first line of an error, never a secret.

There is one first-line helper (``text.first_line``) and one secret scrubber (``logs.redact``); the
adapters use them too, so a store error, an ARM error and a log line are cut and scrubbed alike.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.data.tables import TableClient

from shared import errors, logs
from shared.adapters import arm, tables
from shared.domain.text import first_line

SLACK_WEBHOOK = "https://hooks.slack.com/services/T000/B000/SLACKSECRET"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("boom", None, "boom"),
        ("(Conflict) busy\nCode: Conflict\nMessage: busy", None, "(Conflict) busy"),
        ("\n\n  the reason\nmore", None, "the reason"),
        ("Windows line\r\nnext", None, "Windows line"),
        ("x" * 400, 300, "x" * 300),
        ("short", 300, "short"),
        (" \n\t", None, ""),
        ("", 10, ""),
    ],
)
def test_the_first_line_of_an_error_skips_leading_blank_space_and_is_cut_at_the_limit(text: str, limit: int | None, expected: str) -> None:
    assert first_line(text, limit) == expected


# Each case names the secret that must go; what each of the former scrubbers removed is here:
# the log scrubber's (Slack webhooks, AccountKey, SharedAccessSignature, sig) and the store
# adapter's (the same keys in any case, and every query string, where a SAS token lives).
SECRETS = [
    pytest.param(f"posting to {SLACK_WEBHOOK} failed", "SLACKSECRET", id="slack-webhook"),
    pytest.param(f"posting to {SLACK_WEBHOOK.upper()} failed", "SLACKSECRET", id="slack-webhook-any-case"),
    pytest.param(f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={AZURITE_KEY};EndpointSuffix=x", AZURITE_KEY, id="account-key"),
    pytest.param(f"accountkey={AZURITE_KEY}", AZURITE_KEY, id="account-key-any-case"),
    pytest.param("TableEndpoint=http://h/a;SharedAccessSignature=sv=2019-02-02&se=2099-01-01&sig=SIGSECRET%3D", "SIGSECRET", id="sas"),
    pytest.param("SharedAccessSignature=sv=2019-02-02&tn=t&sp=raud&se=2099-01-01&sig=S", "sp=raud", id="whole-sas"),
    pytest.param("token sig=SIGSECRET&x=1", "SIGSECRET", id="signature"),
    pytest.param("SIG=SIGSECRET", "SIGSECRET", id="signature-any-case"),
    pytest.param(
        "GET 'http://127.0.0.1:10002/devstoreaccount1/Tables?sv=2019-02-02&sig=SIGSECRET%3D' failed", "SIGSECRET", id="quoted-url"
    ),
    pytest.param("GET https://acct.table.core.windows.net/t?st=2026-01-01&skoid=TOKENPART failed", "TOKENPART", id="query-string"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_no_secret_survives_the_scrubber(text: str, secret: str) -> None:
    assert secret not in logs.redact(text)


def test_the_scrubber_keeps_what_is_no_secret() -> None:
    text = f"DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey={AZURITE_KEY};EndpointSuffix=core.windows.net"
    assert logs.redact(text) == "DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=[redacted];EndpointSuffix=core.windows.net"
    arm_url = "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c"
    assert logs.redact(f"GET {arm_url} answered 404") == f"GET {arm_url} answered 404"


def test_every_url_mode_removes_a_webhook_on_any_host() -> None:
    # slack_sdk logs the webhook it posts to; SLACK_WEBHOOK_URL may name any https host.
    text = "Sending a request - url: https://chat.example.com/hooks/PATHSECRET, body: {}"
    assert logs.redact(text, every_url=True) == "Sending a request - url: [url redacted] body: {}"


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_a_log_line_never_carries_a_secret(text: str, secret: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger=logs.LOGGER_NAME)
    logs.event(20, "store failed", error=text)
    assert secret not in caplog.text


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_a_store_error_quotes_the_first_line_of_the_sdk_error_without_secrets(text: str, secret: str) -> None:
    # A TableClient is built offline; translate() only reads its table name and endpoint.
    client = TableClient.from_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:9/a;", "AKSVersion"
    )
    translated = tables.translate(ServiceRequestError(f"{text}\nsecond line"), client, "reading")
    assert isinstance(translated, errors.StoreUnavailableError)
    assert secret not in str(translated)
    assert "second line" not in str(translated)


def test_an_arm_connection_error_is_reported_by_its_first_non_blank_line() -> None:
    classified = arm.classify(ServiceRequestError("\nConnection refused by 127.0.0.1:9\nTraceback (most recent call last): ..."))
    assert isinstance(classified, errors.ArmTransientError)
    assert classified.arm_message == "Connection refused by 127.0.0.1:9"
