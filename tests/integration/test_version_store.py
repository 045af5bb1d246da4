"""The version store against a real Azurite, through azure-data-tables (no mocks)."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from ops.azurite import Azurite, free_port
from shared import errors
from shared.adapters.version_store import TableVersionStore
from shared.domain.records import ValidatedRecord

CLUSTER_A = "/subscriptions/0000/resourceGroups/rg-dev/providers/Microsoft.ContainerService/managedClusters/aks-a"
CLUSTER_B = "/subscriptions/0000/resourceGroups/rg-dev/providers/Microsoft.ContainerService/managedClusters/aks-b"


def _record(environment: str = "dev", version: str = "1.30.5", **changes: Any) -> ValidatedRecord:
    values: dict[str, Any] = {
        "environment": environment,
        "version": version,
        "validated_at": datetime(2024, 5, 7, 8, 0, 0, 123456, tzinfo=UTC),
        "instance_id": f"upgrade-{environment}-2024-05-07",
        "clusters": (CLUSTER_A, CLUSTER_B),
    }
    values.update(changes)
    return ValidatedRecord(**values)


@pytest.fixture
def raw_table(azurite: Azurite, version_table_name: str) -> TableClient:
    """The same table through the plain SDK, to plant rows the conductor would not write."""
    client = TableClient.from_connection_string(azurite.connection_string, version_table_name)
    client.create_table()
    return client


def _plant(raw_table: TableClient, environment: str = "dev", **overrides: Any) -> None:
    entity: dict[str, Any] = {
        "PartitionKey": "validated",
        "RowKey": environment,
        "version": "1.30.5",
        "validatedAt": "2024-05-07T08:00:00+00:00",
        "instanceId": "upgrade-dev-2024-05-07",
        "clusters": f'["{CLUSTER_A}"]',
    }
    for name, value in overrides.items():
        if value is None:
            entity.pop(name, None)
        else:
            entity[name] = value
    raw_table.upsert_entity(entity, mode=UpdateMode.REPLACE)


# -- round trip and absence -------------------------------------------------------------


def test_written_record_reads_back_equal(version_store: TableVersionStore) -> None:
    record = _record()
    version_store.write_validated(record)
    assert version_store.read_validated("dev") == record


def test_first_write_creates_the_table(version_store: TableVersionStore, raw_table: TableClient) -> None:
    raw_table.delete_table()
    version_store.write_validated(_record())
    assert version_store.read_validated("dev") is not None


def test_row_holds_exactly_the_contract_properties(version_store: TableVersionStore, raw_table: TableClient) -> None:
    version_store.write_validated(_record())
    row = raw_table.get_entity("validated", "dev")
    assert dict(row) == {
        "PartitionKey": "validated",
        "RowKey": "dev",
        "version": "1.30.5",
        "validatedAt": "2024-05-07T08:00:00.123456+00:00",
        "instanceId": "upgrade-dev-2024-05-07",
        "clusters": f'["{CLUSTER_A}", "{CLUSTER_B}"]',
    }


def test_validated_at_is_written_in_utc_with_an_explicit_offset(version_store: TableVersionStore, raw_table: TableClient) -> None:
    oslo_summer = timezone(timedelta(hours=2))
    version_store.write_validated(_record(validated_at=datetime(2024, 5, 7, 10, 0, tzinfo=oslo_summer)))
    assert raw_table.get_entity("validated", "dev")["validatedAt"] == "2024-05-07T08:00:00+00:00"


def test_rewrite_replaces_the_whole_row(version_store: TableVersionStore, raw_table: TableClient) -> None:
    _plant(raw_table, extra="left over by hand")
    version_store.write_validated(_record(version="1.31.1", clusters=()))
    row = raw_table.get_entity("validated", "dev")
    assert "extra" not in row
    assert (row["version"], row["clusters"]) == ("1.31.1", "[]")


def test_environments_have_separate_records(version_store: TableVersionStore) -> None:
    version_store.write_validated(_record("dev", "1.30.5"))
    version_store.write_validated(_record("test", "1.29.9"))
    dev, test = version_store.read_validated("dev"), version_store.read_validated("test")
    assert dev is not None and test is not None
    assert (dev.version, test.version) == ("1.30.5", "1.29.9")


def test_absent_record_reads_as_none(version_store: TableVersionStore, raw_table: TableClient) -> None:
    assert version_store.read_validated("prod") is None


def test_record_without_instance_id_reads_with_none(version_store: TableVersionStore, raw_table: TableClient) -> None:
    _plant(raw_table, instanceId=None)
    record = version_store.read_validated("dev")
    assert record is not None and record.instance_id is None


# -- accepted time formats ------------------------------------------------------------


def test_validated_at_with_z_suffix_is_accepted(version_store: TableVersionStore, raw_table: TableClient) -> None:
    _plant(raw_table, validatedAt="2024-05-07T08:00:00Z")
    record = version_store.read_validated("dev")
    assert record is not None
    assert record.validated_at == datetime(2024, 5, 7, 8, 0, tzinfo=UTC)


def test_validated_at_with_dotnet_seven_digit_fraction_is_accepted(version_store: TableVersionStore, raw_table: TableClient) -> None:
    _plant(raw_table, validatedAt="2024-05-07T08:00:00.1234567Z")
    record = version_store.read_validated("dev")
    assert record is not None
    assert record.validated_at == datetime(2024, 5, 7, 8, 0, 0, 123456, tzinfo=UTC)


def test_validated_at_as_edm_datetime_is_accepted_as_a_plain_utc_datetime(version_store: TableVersionStore, raw_table: TableClient) -> None:
    _plant(raw_table, validatedAt=EntityProperty("2024-05-07T08:00:00.5Z", EdmType.DATETIME))
    record = version_store.read_validated("dev")
    assert record is not None
    assert record.validated_at == datetime(2024, 5, 7, 8, 0, 0, 500000, tzinfo=UTC)
    assert type(record.validated_at) is datetime  # not the SDK's TablesEntityDatetime


# -- malformed rows name the field -----------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"version": None}, "version"),
        ({"version": ""}, "version"),
        ({"version": "v1.30.5"}, "version"),
        ({"version": "1.30"}, "version"),
        ({"version": "latest"}, "version"),
        ({"version": 130}, "version"),
        ({"validatedAt": None}, "validatedAt"),
        ({"validatedAt": "yesterday"}, "validatedAt"),
        ({"validatedAt": "2024-05-07T08:00:00"}, "validatedAt"),  # no offset: zone unknown
        ({"validatedAt": "2024-13-07T08:00:00Z"}, "validatedAt"),
        ({"clusters": None}, "clusters"),
        ({"clusters": "not json"}, "clusters"),
        ({"clusters": '{"id": "x"}'}, "clusters"),
        ({"clusters": "[1, 2]"}, "clusters"),
        ({"clusters": '[""]'}, "clusters"),
        ({"instanceId": 42}, "instanceId"),
    ],
    ids=lambda value: repr(value),
)
def test_malformed_record_raises_store_error_naming_field_and_row(
    version_store: TableVersionStore, raw_table: TableClient, overrides: dict[str, Any], field: str
) -> None:
    _plant(raw_table, **overrides)
    with pytest.raises(errors.StoreError) as caught:
        version_store.read_validated("dev")
    assert caught.value.field == field
    assert type(caught.value) is errors.StoreError
    assert raw_table.table_name in str(caught.value) and "validated/dev" in str(caught.value)


def test_writing_a_malformed_version_is_refused(version_store: TableVersionStore) -> None:
    with pytest.raises(errors.StoreError) as caught:
        version_store.write_validated(_record(version="1.30"))
    assert caught.value.field == "version"


def test_writing_a_naive_validated_at_is_refused(version_store: TableVersionStore) -> None:
    with pytest.raises(errors.StoreError) as caught:
        version_store.write_validated(_record(validated_at=datetime(2024, 5, 7, 8, 0)))
    assert caught.value.field == "validatedAt"


def test_environment_that_cannot_be_a_row_key_is_refused(version_store: TableVersionStore) -> None:
    with pytest.raises(errors.StoreError) as caught:
        version_store.read_validated("dev/eu")
    assert caught.value.field == "environment"


# -- the legacy row --------------------------------------------------------------------


def test_legacy_row_reads_with_its_table_timestamp_as_validated_at(version_store: TableVersionStore, raw_table: TableClient) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    raw_table.upsert_entity({"PartitionKey": "aksversion", "RowKey": "1", "versionnumber": "1.29.4"})
    timestamp = raw_table.get_entity("aksversion", "1").metadata["timestamp"]
    assert timestamp is not None
    record = version_store.read_legacy()
    assert record == ValidatedRecord(
        environment="",
        version="1.29.4",
        validated_at=timestamp,
        instance_id=None,
        clusters=(),
        source="legacy",
    )
    assert record.validated_at >= before
    assert type(record.validated_at) is datetime


def test_legacy_row_can_be_read_as_the_lead_environments_record(version_store: TableVersionStore, raw_table: TableClient) -> None:
    raw_table.upsert_entity({"PartitionKey": "aksversion", "RowKey": "1", "versionnumber": "1.29.4"})
    record = version_store.read_legacy(environment="sandbox")
    assert record is not None
    assert (record.environment, record.source) == ("sandbox", "legacy")


def test_absent_legacy_row_reads_as_none(version_store: TableVersionStore, raw_table: TableClient) -> None:
    assert version_store.read_legacy() is None


def test_legacy_row_with_a_malformed_versionnumber_names_it(version_store: TableVersionStore, raw_table: TableClient) -> None:
    raw_table.upsert_entity({"PartitionKey": "aksversion", "RowKey": "1", "versionnumber": "1.29"})
    with pytest.raises(errors.StoreError) as caught:
        version_store.read_legacy()
    assert caught.value.field == "versionnumber"
    assert "aksversion/1" in str(caught.value)


def test_legacy_row_does_not_shadow_validated_records(version_store: TableVersionStore, raw_table: TableClient) -> None:
    raw_table.upsert_entity({"PartitionKey": "aksversion", "RowKey": "1", "versionnumber": "1.29.4"})
    version_store.write_validated(_record("sandbox", "1.30.5"))
    record = version_store.read_validated("sandbox")
    assert record is not None and record.version == "1.30.5"


# -- failures of the store itself ------------------------------------------------------


def test_missing_table_raises_version_table_missing_naming_the_table(version_store: TableVersionStore, version_table_name: str) -> None:
    with pytest.raises(errors.VersionTableMissingError, match=version_table_name):
        version_store.read_validated("dev")
    with pytest.raises(errors.VersionTableMissingError, match=version_table_name):
        version_store.read_legacy()


class CountingTransport(RequestsTransport):
    """azure-core's real HTTP transport, counting the attempts the retry policy makes and noting
    the pauses it asks for between them (without waiting them out)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0
        self.pauses: list[float] = []

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.attempts += 1
        return super().send(request, **kwargs)

    def sleep(self, duration: float) -> None:
        self.pauses.append(duration)


def test_unreachable_store_is_transient_quick_and_keeps_the_key_secret(azurite: Azurite) -> None:
    # GIVEN a loopback port nobody listens on
    port = free_port()
    conn = azurite.connection_string.replace(f":{azurite.port}/", f":{port}/")
    transport = CountingTransport()
    store = TableVersionStore.from_connection_string(conn, "AKSVersion", transport=transport)
    # WHEN the store is read
    with pytest.raises(errors.StoreUnavailableError) as caught:
        store.read_validated("dev")
    # THEN it fails fast: retried, but only a few times with short pauses (azure-core's defaults
    # would pause 1.6 s then 3.2 s here, doubling up to 120 s for other errors) ...
    assert 1 < transport.attempts <= 4
    assert sum(transport.pauses) <= 2
    # ... as a transient error naming the endpoint and no secret
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message
    assert "AccountKey" not in message and "Eby8vdM02" not in message
    printed = "".join(traceback.format_exception(caught.value))
    assert "Eby8vdM02" not in printed


def test_unreachable_store_with_sas_token_keeps_the_signature_secret(azurite: Azurite) -> None:
    port = free_port()
    sas = "sv=2019-02-02&tn=AKSVersion&sp=raud&se=2099-01-01&sig=TOPSECRETSIGNATURE%3D"
    conn = f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;SharedAccessSignature={sas}"
    store = TableVersionStore.from_connection_string(conn, "AKSVersion")
    with pytest.raises(errors.StoreUnavailableError) as caught:
        store.write_validated(_record())
    assert "TOPSECRETSIGNATURE" not in str(caught.value)
    assert isinstance(caught.value, errors.TransientError)


def test_other_service_refusals_are_permanent_store_errors(azurite: Azurite) -> None:
    # A table name the service rejects (too short) is a 400, not worth retrying.
    store = TableVersionStore.from_connection_string(azurite.connection_string, "ab")
    with pytest.raises(errors.StoreError) as caught:
        store.write_validated(_record())
    assert not isinstance(caught.value, errors.VersionTableMissingError)
    assert "HTTP 400" in str(caught.value)


def test_store_built_from_endpoint_and_credential_reads_what_it_wrote(azurite: Azurite, version_table_name: str) -> None:
    # Production passes DefaultAzureCredential; any azure-core credential goes the same way.
    from azure.core.credentials import AzureNamedKeyCredential

    from ops.azurite import ACCOUNT_KEY, ACCOUNT_NAME

    store = TableVersionStore.from_endpoint(
        azurite.table_endpoint,
        version_table_name,
        AzureNamedKeyCredential(ACCOUNT_NAME, ACCOUNT_KEY),
    )
    store.write_validated(_record())
    assert store.read_validated("dev") == _record()
