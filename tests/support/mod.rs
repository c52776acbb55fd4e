//! A connector under test against its running emulator, through the guarded client: shared by
//! the vendor test files.

use url::Url;
use vendorscope::emulator::RunningEmulator;
use vendorscope::http::{Client, ClientConfig};
use vendorscope::inventory::model::Key;
use vendorscope::run::KeyProfile;
use vendorscope::secret::Secret;
use vendorscope::vendors::{self, ProbeSettings};

pub struct Env {
    pub emu: RunningEmulator,
    pub settings: ProbeSettings,
    pub client: Client,
}

impl Env {
    /// Probes go to `emu` with the settings `settings` builds from its base URL, through a
    /// client of those settings' configuration as `client` adjusts it (back-off, timeout).
    pub fn new(
        emu: RunningEmulator,
        settings: impl FnOnce(Url) -> ProbeSettings,
        client: impl FnOnce(&mut ClientConfig),
    ) -> Env {
        let settings = settings(Url::parse(&emu.base_url).expect("url"));
        let mut cfg = settings.client_config();
        client(&mut cfg);
        let client = Client::new(cfg).expect("client");
        Env {
            emu,
            settings,
            client,
        }
    }

    /// One key's probe; the emulator must have seen reads only.
    pub async fn probe_with(&self, vendor: &str, raw: &str, k: &Key) -> KeyProfile {
        let p =
            vendors::probe_key(vendor, &Secret::new(raw), k, &self.settings, &self.client).await;
        self.assert_reads_only();
        p
    }

    pub fn assert_reads_only(&self) {
        let st = &self.emu.state;
        assert_eq!(st.writes(), 0, "emulator saw a write");
        assert!(
            st.requests()
                .iter()
                .all(|r| r.method == "GET" || r.method == "HEAD"),
            "{:?}",
            st.requests()
        );
    }
}
