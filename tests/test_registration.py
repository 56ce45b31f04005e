"""The registration record (``typedmgr._registration``): what ``register()`` builds, what
the stdlib's registry gets from it, and what the server reads."""

from __future__ import annotations

import pickle

from tests.golden.forms.protocols import Leaf, Node, NodeImpl
from typedmgr import TypedManager
from typedmgr._registration import (
    Registration,
    registration_of,
    returned_protocols,
)
from typedmgr._server.dispatch import validators


class Nodes(TypedManager):
    pass


Nodes.register(Node, NodeImpl, validate=True)
Nodes.register("Plain", dict, method_to_typeid={"copy": "Plain"})


def test_the_registry_holds_the_stdlibs_tuple_filled_from_the_record() -> None:
    """The entry unpacks as the stdlib's four-tuple, from the record it carries."""
    entry = Nodes._registry["Node"]
    registration = registration_of("Node", entry)
    factory, exposed, method_to_typeid, proxytype = entry
    assert 4 == len(entry)
    assert (factory, exposed, proxytype) == (
        registration.factory,
        registration.exposed,
        registration.proxytype,
    )
    assert type(method_to_typeid) is dict
    assert method_to_typeid == registration.returns.typeids
    assert (Node, True, True) == (
        registration.protocol,
        registration.validate,
        registration.create_method,
    )
    assert frozenset({"maybe"}) == registration.returns.optional


def test_the_record_travels_with_the_registry() -> None:
    """A pickled registry (``start()`` with spawn) keeps each entry's record."""
    registry = pickle.loads(pickle.dumps(Nodes._registry))
    registration = registration_of("Node", registry["Node"])
    assert registration == registration_of("Node", Nodes._registry["Node"])
    assert registry["Node"][2] is registration.returns.typeids


def test_a_stdlib_entry_gets_a_record_of_what_its_tuple_says() -> None:
    """A string registration's record has no Protocol and maps what the tuple maps."""
    registration = registration_of("Plain", Nodes._registry["Plain"])
    assert Registration is type(registration)
    assert (None, None, {"copy": "Plain"}) == (
        registration.protocol,
        registration.validate,
        registration.returns.typeids,
    )


def test_returned_protocols_are_registered_without_a_callable() -> None:
    """register()'s walk reaches every Protocol a call can bring back, each once, and
    registers each under its reference typeid, to wrap (never to construct). The walk is
    the model's (in its stable order: by module and name)."""
    assert [Leaf, Node] == returned_protocols(Node)
    for protocol in returned_protocols(Node):
        ref = f"{protocol.__module__}:{protocol.__qualname__}"
        registration = registration_of(ref, Nodes._registry[ref])
        assert (protocol, None, False) == (
            registration.protocol,
            registration.factory,
            registration.create_method,
        )


def test_validators_are_keyed_by_typeid_and_follow_the_registrations_flag() -> None:
    """``validate=True`` on one registration validates its typeid even when the server's
    default is off; the Protocols it returns follow the default."""
    protocols = {
        typeid: registration_of(typeid, entry).protocol
        for typeid, entry in Nodes._registry.items()
    }
    assert {"Node"} == set(validators(Nodes._registry, protocols, False))
    assert {"Node", *(p for p in protocols if ":" in p)} == set(
        validators(Nodes._registry, protocols, True)
    )
