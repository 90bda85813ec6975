"""remote_read_proto.py: the protobuf and XOR-chunk pieces the remote read
TAP tests (021, 024) share, written from the format descriptions (no
generated code): encode a ReadRequest, parse messages field by field, decode
Prometheus XOR chunks bit by bit, CRC32C as the stream frames carry it.
"""
import struct


def uvarint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)

def field(num, wt, payload):
    key = uvarint((num << 3) | wt)
    if wt == 0:
        return key + uvarint(payload)
    return key + uvarint(len(payload)) + payload

def encode_request(req):
    body = b''
    for q in req['queries']:
        qb = field(1, 0, q['start']) + field(2, 0, q['end'])
        for (t, n, v) in q['matchers']:
            mb = (field(1, 0, t) if t else b'') + field(2, 2, n.encode()) + field(3, 2, v.encode())
            qb += field(3, 2, mb)
        body += field(1, 2, qb)
    if req.get('types'):
        body += field(2, 2, b''.join(uvarint(t) for t in req['types']))
    return body

def read_uvarint(b, i):
    shift = v = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i

def parse(b):
    """protobuf message -> list of (field, wiretype, value)"""
    i, out = 0, []
    while i < len(b):
        key, i = read_uvarint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_uvarint(b, i)
        elif wt == 1:
            v = b[i:i + 8]; i += 8
        elif wt == 2:
            n, i = read_uvarint(b, i)
            v = b[i:i + n]; i += n
            if i > len(b):
                raise ValueError('truncated')
        else:
            raise ValueError('wire type %d' % wt)
        out.append((f, wt, v))
    return out

def sint64(v):
    return v - (1 << 64) if v >= 1 << 63 else v

def labels_of(fields):
    ls = {}
    for f, _, v in fields:
        if f == 1:
            d = {ff: vv for ff, _, vv in parse(v)}
            ls[d.get(1, b'').decode()] = d.get(2, b'').decode()
    return ls

def fmt(bits):
    return {'v': repr(struct.unpack('<d', struct.pack('<Q', bits))[0]), 'bits': '%016x' % bits}

# CRC32C (Castagnoli), reflected, as the frames carry it.
CRC_TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    CRC_TABLE.append(c)

def crc32c(data):
    c = 0xFFFFFFFF
    for x in data:
        c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

class Bits:
    def __init__(self, data):
        self.d, self.pos = data, 0
    def bit(self):
        if self.pos >= len(self.d) * 8:
            raise ValueError('chunk truncated')
        b = (self.d[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b
    def bits(self, n):
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v
    def uvarint(self):
        shift = v = 0
        while True:
            c = self.bits(8)
            v |= (c & 0x7f) << shift
            shift += 7
            if c < 0x80:
                return v

def xor_decode(data):
    """Prometheus XOR chunk -> [(t, bits)], from the format description."""
    n = struct.unpack('>H', data[:2])[0]
    r = Bits(data[2:])
    out = []
    t = tdelta = vbits = 0
    leading = trailing = 0
    for i in range(n):
        if i == 0:
            u = r.uvarint()
            t = (u >> 1) ^ -(u & 1)
            vbits = r.bits(64)
        else:
            if i == 1:
                tdelta = r.uvarint()
            else:
                ones = 0
                while ones < 4 and r.bit() == 1:
                    ones += 1
                dod = 0
                if ones == 4:
                    dod = sint64(r.bits(64))
                elif ones > 0:
                    sz = {1: 14, 2: 17, 3: 20}[ones]
                    b = r.bits(sz)
                    if b > (1 << (sz - 1)):
                        b -= 1 << sz
                    dod = b
                tdelta += dod
            t += tdelta
            if r.bit() == 1:
                if r.bit() == 1:
                    leading = r.bits(5)
                    sig = r.bits(6) or 64
                    trailing = 64 - leading - sig
                sig = 64 - leading - trailing
                vbits ^= r.bits(sig) << trailing
        out.append((t, vbits))
    return out
