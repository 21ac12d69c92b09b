"""model.special_address_space compares integer bounds; the stdlib's ``overlaps`` is the
independent reference here (every range's edges and neighbours, and a seeded sample)."""

import ipaddress
import random

from ansible_collections.jaas.firewall.plugins.module_utils import model


def reference(network):
    for text, what, source, opt_in in model.SPECIAL_ADDRESS_SPACE:
        space = ipaddress.ip_network(text)
        if space.version == network.version and space.overlaps(network):
            return space, what, source, opt_in
    return None


def edges():
    for text, _what, _source, _opt_in in model.SPECIAL_ADDRESS_SPACE:
        space = ipaddress.ip_network(text)
        top = 32 if space.version == 4 else 128
        first, last = int(space.network_address), int(space.broadcast_address)
        for address in (first - 1, first, last, last + 1):
            if 0 <= address < 2 ** top:
                yield ipaddress.ip_network((address, top))
        yield space
        if space.prefixlen:
            yield space.supernet()


def sample(count=3000, seed=21):
    draw = random.Random(seed)
    for _ in range(count):
        if draw.random() < 0.5:
            yield ipaddress.ip_network((draw.getrandbits(32), draw.choice([0, 4, 8, 12, 16, 24, 32])),
                                       strict=False)
        else:
            yield ipaddress.ip_network((draw.getrandbits(128), draw.choice([0, 3, 10, 16, 32, 48, 64])),
                                       strict=False)


def test_special_space_matches_the_stdlib_overlaps():
    checked = 0
    for network in list(edges()) + list(sample()):
        assert model.special_address_space(network) == reference(network), network
        checked += 1
    assert checked > 3000
