//! `list ssh_key` (main section: every node; a node section: that node): an
//! OpenSSH public key, one a line — `TYPE BASE64 [comment]` — of a known
//! type, whose base64 decodes to a blob that names the same type, as
//! `ssh-keygen -l` would check it. Stored as given (single spaces between
//! the fields); only printable ASCII without `"` or `\`, so a key is one safe
//! YAML string and one safe line of authorized_keys.

/// The key types OpenSSH accepts for user authentication today (DSA is gone
/// from OpenSSH 9.8).
pub const TYPES: [&str; 7] = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A key line, normalised to `TYPE BLOB[ comment]`; None when it is not one.
pub fn parse(v: &str) -> Option<String> {
    if v.len() > 16 * 1024
        || !v
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        return None;
    }
    let mut it = v.split(' ').filter(|s| !s.is_empty());
    let (kind, blob) = (it.next()?, it.next()?);
    let comment: Vec<&str> = it.collect();
    if !TYPES.contains(&kind) {
        return None;
    }
    let raw = base64(blob)?;
    let fields = fields(&raw)?;
    if fields.first() != Some(&kind.as_bytes()) || fields.len() < 2 {
        return None;
    }
    if kind == "ssh-ed25519" && fields[1].len() != 32 {
        return None;
    }
    let mut out = format!("{kind} {blob}");
    if !comment.is_empty() {
        out.push(' ');
        out.push_str(&comment.join(" "));
    }
    Some(out)
}

/// The blob as the length-prefixed strings it is made of, which must fill it exactly.
fn fields(mut raw: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let len = u32::from_be_bytes(raw.get(..4)?.try_into().ok()?) as usize;
        out.push(raw.get(4..4usize.checked_add(len)?)?);
        raw = &raw[4 + len..];
    }
    Some(out)
}

/// Standard base64 with padding, as OpenSSH writes key blobs.
fn base64(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, q) in bytes.chunks(4).enumerate() {
        let last = i == bytes.len() / 4 - 1;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * pad as u32;
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..4 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ssh-keygen -t ed25519 -C lion@lab (a throwaway key)
    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKyEX1c94vp3DjRjwFTDYovAwueRgKlBt991Kgff39ha lion@lab";

    #[test]
    fn known_keys_are_accepted_and_normalised() {
        assert_eq!(parse(ED).as_deref(), Some(ED));
        let spaced = ED.replace(' ', "   ");
        assert_eq!(parse(&spaced).as_deref(), Some(ED));
        let bare = ED.rsplit_once(' ').unwrap().0;
        assert_eq!(parse(bare).as_deref(), Some(bare));
    }

    #[test]
    fn ecdsa_and_rsa_keys_are_accepted() {
        for k in [
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD5gTgBLbwSlbALr4L2NKuUsJDH/tWioUrO7pcNkNI1/K1HfM9E5OHRNZyzRobHPvdLO/JavBe35mcB/dYWcKdc= owl",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDCtpaisHC5geCK67LX2p5MRI8LWO79x+IJPw9RT5RfWEGPYu3EqCzBr9ReGD7I/iQDh9CqnYyPUGCnYq46VsRFBHLlUNEsIAuk0G5cI6eLR5tY1j5DHhEbAuyifq4IsB3jzxPqn9AaDoGK/fZdBBu53CAwOpYS9MD6B2aEz3tc+TUuqXH/o5Qcm6aNtAHGTPe9qyVBjZglKPR59YtPiQQBAYeBDUkjFi3S8myTA4BR8xtPyZENtnxzoHNGjbvdWN6xq84wz07BbZr0U4A0WWnkGr2YCVhLXqgHCcSo0H44LfsQ6/cHYkLDmm/bHrNEm2uk9dlxnNLKWYWqF9blfDYj r",
        ] {
            assert_eq!(parse(k).as_deref(), Some(k));
        }
    }

    #[test]
    fn bad_keys_are_refused() {
        let blob = ED.split(' ').nth(1).unwrap();
        for bad in [
            "",
            "ssh-ed25519",
            &format!("ssh-dss {blob}"),
            &format!("ssh-rsa {blob}"), // the blob names another type
            "ssh-ed25519 AAAA",
            "ssh-ed25519 !!!!",
            &format!("{ED}\nssh-ed25519 {blob}"),
            &format!("{ED} \"quoted\""),
            &format!("ssh-ed25519 {}", &blob[..blob.len() - 4]),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGk=").unwrap(), b"hi");
        assert_eq!(base64("YWJj").unwrap(), b"abc");
        assert!(base64("a=bc").is_none());
        assert!(base64("abc").is_none());
    }
}
