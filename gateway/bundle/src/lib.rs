//! cordon-bundle: the signed firmware update bundle (issue 17).
//!
//! A bundle carries what one slot of the appliance holds: the boot partition's image (kernel,
//! initramfs, boot script, `slot.env` with the root's verity parameters) and the root
//! partition's image (`root.erofs` and its dm-verity hash tree), with the firmware version and
//! the board it is for, signed with the vendor's ed25519 key. It is made to be checked while it
//! streams, so the installer never needs room for a whole bundle:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "CORDONFW"
//! 8       2     format version, little-endian (1)
//! 10      2     zero
//! 12      4     manifest length M, little-endian (at most MAX_MANIFEST_LEN)
//! 16      M     manifest: JSON (Manifest)
//! 16+M    64    ed25519 signature over bytes 0 .. 16+M (header and manifest)
//! 80+M    ...   the payloads, in the manifest's order, each exactly its `size` bytes
//! ```
//!
//! The installer reads 16 + M + 64 bytes, checks the signature against the keys the image
//! trusts and the board against its own *before writing anything*, then hashes each payload
//! while writing it ([`PayloadCheck`]): the signed manifest names each payload's SHA-256, so a
//! payload changed anywhere fails at its end, and the slot it went to is left marked bad.
//!
//! Sans-IO: bytes in, a verified manifest or a reason out. Signing is here too, for the build
//! host (`cordon bundle create`).

#![forbid(unsafe_code)]

use ring::digest;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"CORDONFW";
/// The layout above; a reader refuses any other.
pub const FORMAT: u16 = 1;
/// Magic, format, reserved, manifest length.
pub const HEADER_LEN: usize = 16;
/// An ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// What the installer buffers before the signature is checked: a manifest is about 700 bytes;
/// 16 KiB leaves room for more payloads and fields while bounding what an unsigned stream can
/// make the box hold.
pub const MAX_MANIFEST_LEN: usize = 16 * 1024;
/// Payloads per bundle: the boot and the root partition of one slot, and room for two more.
pub const MAX_PAYLOADS: usize = 4;
/// The DER prefix of an ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Why a bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("not a cordon firmware bundle (no CORDONFW magic)")]
    Magic,
    #[error("bundle format {0} is not format {FORMAT}; a newer installer is needed")]
    Format(u16),
    #[error("bundle manifest of {0} bytes is over the {MAX_MANIFEST_LEN}-byte limit")]
    ManifestTooLong(usize),
    #[error("bundle signature does not verify with any of the {0} trusted keys")]
    Signature(usize),
    #[error("no trusted update key on this appliance")]
    NoKeys,
    #[error("bundle manifest is malformed: {0}")]
    Manifest(String),
    #[error("bundle is for board {bundle}, this appliance is {appliance}")]
    Board { bundle: String, appliance: String },
    #[error("bundle payload {name} is {size} bytes; the {name} partition holds {room}")]
    TooLarge { name: String, size: u64, room: u64 },
    #[error("bundle payload {name} does not match its signed SHA-256")]
    PayloadHash { name: String },
    #[error("bundle payload {name} is longer than its signed size {size}")]
    PayloadLong { name: String, size: u64 },
    #[error("bundle ends inside payload {name}: {got} of {size} bytes")]
    Truncated { name: String, got: u64, size: u64 },
    #[error("bad key: {0}")]
    Key(String),
}

/// What the signature covers besides the header: the firmware, its board and its payloads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The board profile's name (`board/<name>/board.toml`): a bundle for another board is
    /// refused.
    pub board: String,
    /// The firmware version, as `cordon slot status` and the boot log show it.
    pub version: String,
    pub payloads: Vec<Payload>,
}

/// One partition image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// `boot` or `root`: the slot's partition it goes to (`boot-a`, `root-b`, ...).
    pub name: PartName,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    /// The root's dm-verity parameters (also in the boot partition's `slot.env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verity: Option<Verity>,
}

/// Which partition of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartName {
    Boot,
    Root,
}

impl PartName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boot => "boot",
            Self::Root => "root",
        }
    }
}

/// dm-verity parameters of a root image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verity {
    pub data_blocks: u64,
    pub root_hash: String,
    pub salt: String,
}

/// An ed25519 public key the appliance trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Reads `-----BEGIN PUBLIC KEY-----` PEM (what `openssl pkey -pubout` writes).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| Error::Key(format!("not a PEM public key: {e}")))?;
        let bytes = der.as_ref();
        match bytes.strip_prefix(&SPKI_PREFIX[..]) {
            Some(key) if key.len() == 32 => {
                let mut k = [0u8; 32];
                k.copy_from_slice(key);
                Ok(Self(k))
            }
            _ => Err(Error::Key("not an ed25519 public key".into())),
        }
    }
}

/// A signing key (the vendor's, kept offline; the repository's test key for CI).
#[derive(Debug)]
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    /// Reads `-----BEGIN PRIVATE KEY-----` PKCS#8 PEM (what `openssl genpkey -algorithm
    /// ed25519` writes).
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| Error::Key(format!("not a PKCS#8 PEM private key: {e}")))?;
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der.secret_pkcs8_der())
            .map(Self)
            .map_err(|e| Error::Key(format!("not an ed25519 private key: {e}")))
    }

    pub fn public(&self) -> PublicKey {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.0.public_key().as_ref());
        PublicKey(k)
    }
}

/// The header, manifest and signature of a bundle whose payloads are `manifest.payloads`.
pub fn sign(manifest: &Manifest, key: &SigningKey) -> Result<Vec<u8>, Error> {
    check_manifest(manifest)?;
    let json = serde_json::to_vec(manifest).map_err(|e| Error::Manifest(e.to_string()))?;
    if json.len() > MAX_MANIFEST_LEN {
        return Err(Error::ManifestTooLong(json.len()));
    }
    let mut out = Vec::with_capacity(HEADER_LEN + json.len() + SIGNATURE_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    let sig = key.0.sign(&out);
    out.extend_from_slice(sig.as_ref());
    Ok(out)
}

/// Reads the fixed header: how many manifest bytes follow it.
pub fn manifest_len(header: &[u8; HEADER_LEN]) -> Result<usize, Error> {
    if &header[..8] != MAGIC {
        return Err(Error::Magic);
    }
    let format = u16::from_le_bytes([header[8], header[9]]);
    if format != FORMAT || header[10..12] != [0, 0] {
        return Err(Error::Format(format));
    }
    let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize;
    if len > MAX_MANIFEST_LEN {
        return Err(Error::ManifestTooLong(len));
    }
    Ok(len)
}

/// Checks `signature` over `signed` (header and manifest) with any of `keys`, then reads the
/// manifest. Nothing in the manifest is looked at before the signature holds.
pub fn verify(signed: &[u8], signature: &[u8], keys: &[PublicKey]) -> Result<Manifest, Error> {
    if keys.is_empty() {
        return Err(Error::NoKeys);
    }
    let ok = keys.iter().any(|k| {
        UnparsedPublicKey::new(&signature::ED25519, &k.0)
            .verify(signed, signature)
            .is_ok()
    });
    if !ok {
        return Err(Error::Signature(keys.len()));
    }
    let header: &[u8; HEADER_LEN] = signed
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(Error::Magic)?;
    let len = manifest_len(header)?;
    let json = signed
        .get(HEADER_LEN..HEADER_LEN + len)
        .filter(|_| signed.len() == HEADER_LEN + len)
        .ok_or_else(|| Error::Manifest("length does not match the header".into()))?;
    read_manifest(json)
}

/// The manifest's JSON, checked for what an installer relies on (payload names once each, a
/// root payload, hex digests, a version without spaces). Only [`verify`] calls it on a
/// bundle, after the signature holds; public for the fuzz target.
pub fn read_manifest(json: &[u8]) -> Result<Manifest, Error> {
    let manifest: Manifest =
        serde_json::from_slice(json).map_err(|e| Error::Manifest(e.to_string()))?;
    check_manifest(&manifest)?;
    Ok(manifest)
}

/// The bundle is for `board`.
pub fn check_board(manifest: &Manifest, board: &str) -> Result<(), Error> {
    if manifest.board == board {
        Ok(())
    } else {
        Err(Error::Board {
            bundle: manifest.board.clone(),
            appliance: board.to_owned(),
        })
    }
}

fn check_manifest(m: &Manifest) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::Manifest(why.to_owned()));
    if m.board.is_empty() || m.version.is_empty() || m.version.len() > 64 {
        return bad("board and version must be set (version at most 64 bytes)");
    }
    if m.version
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return bad("version has spaces or control characters");
    }
    if m.payloads.is_empty() || m.payloads.len() > MAX_PAYLOADS {
        return bad("a bundle has 1 to 4 payloads");
    }
    for (i, p) in m.payloads.iter().enumerate() {
        if m.payloads[..i].iter().any(|q| q.name == p.name) {
            return bad("a partition appears twice");
        }
        if hex32(&p.sha256).is_none() {
            return bad("a payload's sha256 is not 64 hex digits");
        }
        if let Some(v) = &p.verity {
            if hex32(&v.root_hash).is_none() || v.salt.is_empty() || v.data_blocks == 0 {
                return bad("verity needs data_blocks, a 64-digit root_hash and a salt");
            }
        }
    }
    if !m.payloads.iter().any(|p| p.name == PartName::Root) {
        return bad("no root payload");
    }
    Ok(())
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

/// One payload's bytes as they stream: counted against its signed size and hashed.
pub struct PayloadCheck {
    name: PartName,
    size: u64,
    got: u64,
    want: [u8; 32],
    ctx: digest::Context,
}

impl std::fmt::Debug for PayloadCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadCheck")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("got", &self.got)
            .finish_non_exhaustive()
    }
}

impl PayloadCheck {
    pub fn new(p: &Payload) -> Self {
        Self {
            name: p.name,
            size: p.size,
            got: 0,
            // check_manifest has refused anything else before a PayloadCheck is made.
            want: hex32(&p.sha256).unwrap_or([0; 32]),
            ctx: digest::Context::new(&digest::SHA256),
        }
    }

    /// Bytes still to come.
    pub fn left(&self) -> u64 {
        self.size - self.got
    }

    pub fn update(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.len() as u64 > self.left() {
            return Err(Error::PayloadLong {
                name: self.name.as_str().into(),
                size: self.size,
            });
        }
        self.got += bytes.len() as u64;
        self.ctx.update(bytes);
        Ok(())
    }

    /// All bytes came and they hash to the signed SHA-256.
    pub fn finish(self) -> Result<(), Error> {
        if self.got < self.size {
            return Err(Error::Truncated {
                name: self.name.as_str().into(),
                got: self.got,
                size: self.size,
            });
        }
        if self.ctx.finish().as_ref() == self.want {
            Ok(())
        } else {
            Err(Error::PayloadHash {
                name: self.name.as_str().into(),
            })
        }
    }
}

#[cfg(test)]
mod tests;
