//! Deterministic sharding of an audit (`--shard K/N`): each vendor's keys, and each surface and
//! artifact, land in exactly one shard, chosen by a hash of their id so shards are stable.

use std::str::FromStr;

/// `K/N`, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected K/N (e.g. 1/4), got `{s}`"))?;
        let index: u32 = k
            .trim()
            .parse()
            .map_err(|_| format!("shard index `{k}` is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count `{n}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("shard `{s}` must satisfy 1 <= K <= N"));
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the item with this stable id belongs to this shard.
    pub fn owns(&self, id: &str) -> bool {
        let d = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&d.as_ref()[..8]);
        (u64::from_be_bytes(b) % u64::from(self.count)) as u32 == self.index - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_in_exactly_one_shard() {
        let shards: Vec<Shard> = (1..=4).map(|k| Shard { index: k, count: 4 }).collect();
        for i in 0..200 {
            let id = format!("vendor-{i}/key-{i}");
            assert_eq!(shards.iter().filter(|s| s.owns(&id)).count(), 1);
        }
    }

    #[test]
    fn parse() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
