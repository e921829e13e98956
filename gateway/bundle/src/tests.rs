use super::*;

/// The repository's test key pair, made by OpenSSL 3.0 (`image/keys/README.md`).
const TEST_KEY: &str = include_str!("../../../image/keys/test-signing.pem");
const TEST_PUB: &str = include_str!("../../../image/keys/test-signing.pub.pem");

fn key() -> SigningKey {
    SigningKey::from_pem(TEST_KEY).unwrap()
}

fn manifest(boot: &[u8], root: &[u8]) -> Manifest {
    Manifest {
        board: "qemu-virt-aarch64".into(),
        version: "0.2.0+test".into(),
        payloads: vec![
            Payload {
                name: PartName::Boot,
                size: boot.len() as u64,
                sha256: sha256_hex(boot),
                verity: None,
            },
            Payload {
                name: PartName::Root,
                size: root.len() as u64,
                sha256: sha256_hex(root),
                verity: Some(Verity {
                    data_blocks: 1,
                    root_hash: sha256_hex(b"tree"),
                    salt: "c0d0".into(),
                }),
            },
        ],
    }
}

/// Splits a signed head as the installer reads it: header, manifest, signature.
fn read_head(bundle: &[u8], keys: &[PublicKey]) -> Result<(Manifest, usize), Error> {
    let header: &[u8; HEADER_LEN] = bundle[..HEADER_LEN].try_into().unwrap();
    let len = manifest_len(header)?;
    let signed = &bundle[..HEADER_LEN + len];
    let sig = &bundle[HEADER_LEN + len..HEADER_LEN + len + SIGNATURE_LEN];
    verify(signed, sig, keys).map(|m| (m, HEADER_LEN + len + SIGNATURE_LEN))
}

fn check_payloads(m: &Manifest, mut rest: &[u8]) -> Result<(), Error> {
    for p in &m.payloads {
        let mut c = PayloadCheck::new(p);
        let n = (p.size as usize).min(rest.len());
        // In uneven pieces, as a socket hands them over.
        for piece in rest[..n].chunks(7) {
            c.update(piece)?;
        }
        rest = &rest[n..];
        c.finish()?;
    }
    Ok(())
}

#[test]
fn the_openssl_key_pair_matches() {
    assert_eq!(key().public(), PublicKey::from_pem(TEST_PUB).unwrap());
}

#[test]
fn a_signed_bundle_verifies_and_its_payloads_check() {
    let (boot, root) = (vec![1u8; 1000], vec![2u8; 3000]);
    let m = manifest(&boot, &root);
    let mut bundle = sign(&m, &key()).unwrap();
    bundle.extend_from_slice(&boot);
    bundle.extend_from_slice(&root);
    let keys = [PublicKey::from_pem(TEST_PUB).unwrap()];
    let (got, at) = read_head(&bundle, &keys).unwrap();
    assert_eq!(got, m);
    check_board(&got, "qemu-virt-aarch64").unwrap();
    check_payloads(&got, &bundle[at..]).unwrap();
}

#[test]
fn any_changed_byte_of_the_head_breaks_the_signature() {
    let m = manifest(b"boot", b"root");
    let head = sign(&m, &key()).unwrap();
    let keys = [key().public()];
    for i in HEADER_LEN..head.len() {
        let mut bad = head.clone();
        bad[i] ^= 0x20;
        let r = read_head(&bad, &keys);
        assert!(matches!(r, Err(Error::Signature(1))), "byte {i}: {r:?}");
    }
}

#[test]
fn another_key_and_no_key_are_refused() {
    let head = sign(&manifest(b"b", b"r"), &key()).unwrap();
    let other = PublicKey([7u8; 32]);
    assert_eq!(
        read_head(&head, std::slice::from_ref(&other)),
        Err(Error::Signature(1))
    );
    assert_eq!(read_head(&head, &[]), Err(Error::NoKeys));
    // One of several trusted keys is enough (a key rotation).
    assert!(read_head(&head, &[other, key().public()]).is_ok());
}

#[test]
fn a_bundle_for_another_board_is_named() {
    let mut m = manifest(b"b", b"r");
    m.board = "rpi4".into();
    let (got, _) = read_head(&sign(&m, &key()).unwrap(), &[key().public()]).unwrap();
    assert_eq!(
        check_board(&got, "qemu-virt-aarch64")
            .unwrap_err()
            .to_string(),
        "bundle is for board rpi4, this appliance is qemu-virt-aarch64"
    );
}

#[test]
fn changed_short_and_long_payloads_are_caught() {
    let (boot, root) = (vec![1u8; 100], vec![2u8; 300]);
    let m = manifest(&boot, &root);
    let mut changed = [boot.clone(), root.clone()].concat();
    changed[250] ^= 1;
    assert_eq!(
        check_payloads(&m, &changed),
        Err(Error::PayloadHash {
            name: "root".into()
        })
    );
    let short = [boot.clone(), root[..299].to_vec()].concat();
    assert_eq!(
        check_payloads(&m, &short),
        Err(Error::Truncated {
            name: "root".into(),
            got: 299,
            size: 300
        })
    );
    let mut c = PayloadCheck::new(&m.payloads[0]);
    assert_eq!(
        c.update(&[0u8; 101]),
        Err(Error::PayloadLong {
            name: "boot".into(),
            size: 100
        })
    );
}

#[test]
fn hostile_headers_are_refused_before_anything_is_buffered() {
    let head = sign(&manifest(b"b", b"r"), &key()).unwrap();
    let mut h: [u8; HEADER_LEN] = head[..HEADER_LEN].try_into().unwrap();
    h[12..16].copy_from_slice(&(MAX_MANIFEST_LEN as u32 + 1).to_le_bytes());
    assert_eq!(
        manifest_len(&h),
        Err(Error::ManifestTooLong(MAX_MANIFEST_LEN + 1))
    );
    let mut h2: [u8; HEADER_LEN] = head[..HEADER_LEN].try_into().unwrap();
    h2[8] = 2;
    assert_eq!(manifest_len(&h2), Err(Error::Format(2)));
    let mut h3 = h2;
    h3[0] = b'X';
    assert_eq!(manifest_len(&h3), Err(Error::Magic));
}

#[test]
fn malformed_manifests_are_not_signed() {
    let mut m = manifest(b"b", b"r");
    m.payloads.retain(|p| p.name == PartName::Boot);
    assert!(matches!(sign(&m, &key()), Err(Error::Manifest(_))));
    let mut m = manifest(b"b", b"r");
    m.version = "1 2".into();
    assert!(matches!(sign(&m, &key()), Err(Error::Manifest(_))));
    let mut m = manifest(b"b", b"r");
    m.payloads[1].sha256 = "xyz".into();
    assert!(matches!(sign(&m, &key()), Err(Error::Manifest(_))));
}
