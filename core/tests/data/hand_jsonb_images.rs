// Hand-derived jsonb byte images, shared by the decoder's unit tests
// (src/jsonb/tests.rs) and the fuzz tests (tests/fuzz.rs) through include!.

/// `'{"a": 1}'::jsonb`, derived from `convertJsonbObject`:
/// header `1 | JB_FOBJECT`; key JEntry with HAS_OFF (index 0) and end
/// offset 1; value JEntry (index 1, a length) NUMERIC with 3 bytes of
/// padding + an 8-byte NumericShort (varlena 8 << 2, n_header 0x8000,
/// one digit 1).
const OBJ_A_1: [u8; 24] = [
    0x01, 0x00, 0x00, 0x20, // header: count 1, JB_FOBJECT
    0x01, 0x00, 0x00, 0x80, // key: HAS_OFF | STRING | end 1
    0x0B, 0x00, 0x00, 0x10, // value: NUMERIC | len 11
    b'a', 0x00, 0x00, 0x00, // "a", 3 bytes INTALIGN padding
    0x20, 0x00, 0x00, 0x00, // numeric varlena header: 8 << 2
    0x00, 0x80, 0x01, 0x00, // NUMERIC_SHORT, weight 0, dscale 0; digit 1
];

/// `'[true, null, "x"]'::jsonb`.
const ARR_TRUE_NULL_X: [u8; 17] = [
    0x03, 0x00, 0x00, 0x40, // header: count 3, JB_FARRAY
    0x00, 0x00, 0x00, 0xB0, // HAS_OFF | BOOL_TRUE | end 0
    0x00, 0x00, 0x00, 0x40, // NULL | len 0
    0x01, 0x00, 0x00, 0x00, // STRING | len 1
    b'x',
];

/// `'5'::jsonb`: a raw scalar.
const RAW_5: [u8; 16] = [
    0x01, 0x00, 0x00, 0x50, // header: count 1, JB_FARRAY | JB_FSCALAR
    0x08, 0x00, 0x00, 0x90, // HAS_OFF | NUMERIC | end 8
    0x20, 0x00, 0x00, 0x00, // numeric varlena header: 8 << 2
    0x00, 0x80, 0x05, 0x00, // NUMERIC_SHORT; digit 5
];

/// `'[1.5]'::jsonb`: NumericShort with dscale 1, digits [1, 5000].
const ARR_1_5: [u8; 18] = [
    0x01, 0x00, 0x00, 0x40, // header: count 1, JB_FARRAY
    0x0A, 0x00, 0x00, 0x90, // HAS_OFF | NUMERIC | end 10
    0x28, 0x00, 0x00, 0x00, // numeric varlena header: 10 << 2
    0x80, 0x80, 0x01, 0x00, // NUMERIC_SHORT | dscale 1 << 7; digit 1
    0x88, 0x13, // digit 5000
];
