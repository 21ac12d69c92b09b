# -*- coding: utf-8 -*-
"""What the vendor page asks for, typed in by hand from
/work/shared/jaas-network-requirements.md ("Meetings domains and IP's", 8x8), independent
of vars/jaas_catalog.yml and of every renderer: the contract tests compare the role's
module calls with this table, never with the code under test.

Every Windows rule is keyed by its expected display name:
(direction, protocol, port option, port value, vendor addresses).
"""

CLOUDFLARE = [
    # "Cloudflare" — IPv4
    '173.245.48.0/20', '103.21.244.0/22', '103.22.200.0/22', '103.31.4.0/22',
    '141.101.64.0/18', '108.162.192.0/18', '190.93.240.0/20', '188.114.96.0/20',
    '197.234.240.0/22', '198.41.128.0/17', '162.158.0.0/15', '104.16.0.0/13',
    '104.24.0.0/14', '172.64.0.0/13', '131.0.72.0/22',
    # IPv6
    '2400:cb00::/32', '2606:4700::/32', '2803:f800::/32', '2405:b500::/32',
    '2405:8100::/32', '2a06:98c0::/29', '2c0f:f248::/32',
]

JVB = {  # "Video Bridges": TCP 443 and UDP 10000
    'au-sydney': ['168.138.111.128/25'],
    'br-sao-paulo': ['168.138.245.0/25', '129.148.18.0/26', '129.148.18.64/26'],
    'de-frankfurt': ['130.61.162.0/24'],
    'in-mumbai': ['152.67.21.0/24'],
    'jp-tokyo': ['155.248.191.0/24'],
    'us-east-ashburn': ['193.122.184.0/24'],
    'us-west-phoenix': ['158.101.40.0/25', '129.146.204.128/27', '129.146.205.0/27',
                        '129.146.205.96/27', '129.146.206.64/27'],
    'uk-london': ['152.67.144.0/24'],
}

TURN = {  # "TURN Relay Servers": TCP 443, UDP 443, UDP 49152-65535
    'au-sydney': ['168.138.110.244', '168.138.110.59', '192.9.165.175', '150.230.8.96'],
    'br-sao-paulo': ['168.138.236.29', '168.138.229.53', '168.75.97.79', '167.234.255.126'],
    'ca-toronto': ['140.238.148.121', '140.238.148.27', '129.153.62.224', '150.230.30.183'],
    'de-frankfurt': ['130.61.64.185', '193.122.11.14', '130.162.59.132', '130.61.133.55'],
    'in-mumbai': ['152.67.14.48', '152.67.30.22', '144.24.103.107', '129.154.253.235'],
    'jp-tokyo': ['168.138.216.49', '168.138.223.155', '158.179.186.219', '131.186.58.42'],
    'sa-jeddah': ['193.122.64.56', '158.101.224.215', '158.101.233.69', '81.208.170.221'],
    'uk-london': ['140.238.95.196', '152.67.128.56', '130.162.185.237', '132.226.213.225'],
    'us-east-ashburn': ['193.122.177.113', '193.122.167.175', '129.80.169.133', '129.153.0.67'],
    'us-west-phoenix': ['129.146.227.2', '129.146.219.44', '144.24.35.218', '144.24.7.53'],
}

WEBHOOK_ORIGINS = ['52.26.201.32', '52.10.206.157', '35.162.88.192']  # inbound TCP

# The page's "Domains" section: HTTPS (TCP 443).
DOMAINS = {
    'core': ['8x8.com', '*.8x8.com', '8x8.vc', '*.8x8.vc', 'jitsi.net', '*.jitsi.net'],
    'auxiliary': ['www.gravatar.com', '*.youtube.com', '*.dropboxapi.com',
                  '*.dropboxstatic.com', '*.dropbox.com', '*.dropboxusercontent.com',
                  'dropboxcaptcha.com', '*.microsoft.com', '*.microsoftonline.com',
                  '*.msauth.net', '*.live.com', '*.microsoftonline-p.com'],
    'analytics': ['api.amplitude.com', 'www.google-analytics.com', '*.gstatic.com',
                  '*.googleapis.com', '*.google.com', '*.googleusercontent.com'],
}


def _all(by_region, regions=None):
    return [a for region, addresses in by_region.items()
            if regions is None or region in regions for a in addresses]


def expected_rules(regions=None, webhooks=False, webhook_port=443, families=(4, 6)):
    """Expected Windows rules: name -> (direction, protocol, port option, port, addresses)."""
    def family(addresses):
        return [a for a in addresses if (6 if ':' in a else 4) in families]

    jvb, turn = family(_all(JVB, regions)), family(_all(TURN, regions))
    cloudflare = family(CLOUDFLARE)
    table = {}
    if cloudflare:
        table['JaaS - Cloudflare - TCP all ports'] = ('out', 'tcp', 'remoteport', 'any', cloudflare)
        table['JaaS - Cloudflare - UDP all ports'] = ('out', 'udp', 'remoteport', 'any', cloudflare)
    if jvb:
        table['JaaS - JVB - TCP 443'] = ('out', 'tcp', 'remoteport', '443', jvb)
        table['JaaS - JVB - UDP 10000'] = ('out', 'udp', 'remoteport', '10000', jvb)
    if turn:
        table['JaaS - TURN - TCP 443'] = ('out', 'tcp', 'remoteport', '443', turn)
        table['JaaS - TURN - UDP 443'] = ('out', 'udp', 'remoteport', '443', turn)
        table['JaaS - TURN - UDP 49152-65535'] = ('out', 'udp', 'remoteport', '49152-65535', turn)
    if webhooks and family(WEBHOOK_ORIGINS):
        table['JaaS - Webhook origins - inbound TCP %d' % webhook_port] = (
            'in', 'tcp', 'localport', str(webhook_port), family(WEBHOOK_ORIGINS))
    return table
