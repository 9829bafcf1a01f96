//! `BtpAddress::parse` (`btp://<net>/<account>`: xCall's `to` from dapps, `from` in proven
//! messages). No panic; an address parses only in its canonical form (formatting it gives the
//! input back), with a valid net and account id; and every valid pair formats to an address
//! that parses back to it.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use near_sdk::AccountId;
use xsc_interfaces::xcall::is_valid_net;
use xsc_interfaces::BtpAddress;

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Parts(String, String),
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw(s) => {
            if let Some(a) = BtpAddress::parse(&s) {
                assert_eq!(a.to_string(), s);
                assert!(is_valid_net(&a.net));
                assert!(!a.net.contains('/') && !a.net.contains(':'));
                assert_eq!(
                    a.account.as_str().parse::<AccountId>().as_ref(),
                    Ok(&a.account)
                );
                assert_eq!(BtpAddress::format(&a.net, a.account.as_str()), s);
            } else if let Some(rest) = s.strip_prefix(BtpAddress::SCHEME) {
                // Refused: then no split of it is a valid pair.
                if let Some((net, account)) = rest.split_once('/') {
                    assert!(!is_valid_net(net) || account.parse::<AccountId>().is_err());
                }
            }
        }
        Input::Parts(net, account) => {
            let s = BtpAddress::format(&net, &account);
            let valid = is_valid_net(&net) && account.parse::<AccountId>().is_ok();
            match BtpAddress::parse(&s) {
                Some(a) => {
                    assert!(valid, "{s}");
                    assert_eq!(a.net, net);
                    assert_eq!(a.account.as_str(), account);
                    assert_eq!(BtpAddress::new(&net, &a.account), a);
                }
                None => assert!(!valid, "{s}"),
            }
        }
    }
});
