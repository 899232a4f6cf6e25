// Unit tests for the version picks of issue 14, to go into the tests module
// of the versions file (core/versions.rs after the refactor). They use that
// module's `tags`, `best` and `newest` helpers.

    /// Equal versions spelt differently are never "newer" (leading zeros).
    #[test]
    fn equal_versions_are_not_newer_whatever_their_spelling() {
        assert_eq!(best("18.4", "18.04 18.4"), (None, None));
        assert_eq!(best("18.04", "18.4 18.04"), (None, None));
        assert_eq!(best("18.4", "18.04 18.10"), (Some("18.10".into()), Some("18.10".into())));
        assert_eq!(best("1.02.3", "1.2.3 1.2.03 1.2.4"), (Some("1.2.4".into()), Some("1.2.4".into())));
        assert_eq!(best("v1.2", "v1.02 v01.2"), (None, None));
        // Different spellings of one release with a build counter: only a
        // higher counter is newer.
        assert_eq!(newest("4.2.1-ls45", "4.02.1-ls45 4.2.1-ls046"), None);
        assert_eq!(newest("4.2.1-ls45", "4.2.01-ls46"), Some("4.2.01-ls46".into()));
        // And pre-releases: rc01 is rc1.
        assert_eq!(newest("7.4-rc1", "7.4-rc01 7.04-rc1"), None);
        // Ord still orders them deterministically (by text), so sorting
        // stays stable; only "newer" ignores the spelling.
        let a = Version::parse("18.04").unwrap();
        let b = Version::parse("18.4").unwrap();
        assert!(a.same_version(&b) && !a.newer_than(&b) && !b.newer_than(&a));
    }

    /// The suffix must match exactly, case included.
    #[test]
    fn suffix_is_case_sensitive() {
        assert_eq!(best("1.0-Debian", "1.2-debian 1.1-DEBIAN"), (None, None));
        assert_eq!(best("1.0-Debian", "1.2-debian 1.1-Debian"), (Some("1.1-Debian".into()), Some("1.1-Debian".into())));
        assert_eq!(best("1.0-debian", "1.1-Debian 1.2-debian"), (Some("1.2-debian".into()), Some("1.2-debian".into())));
        assert_eq!(Version::parse("1.0-Debian").unwrap().suffix, "Debian");
        // The pre-release word and the build counter are not the suffix:
        // `-RC1` is still a pre-release of 7.4.
        assert!(Version::parse("7.4-RC1").unwrap().is_prerelease());
    }

    /// From a pre-release: later pre-releases of the same release and any
    /// stable release; never another release's pre-release (Renovate).
    #[test]
    fn prerelease_moves_stay_within_their_release() {
        assert_eq!(best("3.13.0a1", "3.13.0 3.14.0a1 3.13.0a2"), (Some("3.13.0".into()), Some("3.13.0".into())));
        assert_eq!(best("3.13.0a1", "3.14.0a1 3.13.0a2"), (Some("3.13.0a2".into()), Some("3.13.0a2".into())));
        assert_eq!(best("3.13.0a1", "3.14.0a1"), (None, None));
        assert_eq!(best("3.7.0b1", "3.7.0b5 3.8.0b1"), (Some("3.7.0b5".into()), Some("3.7.0b5".into())));
        assert_eq!(best("3.7.0b1", "3.7.0b5 3.7.0rc1 3.8.0b1"), (Some("3.7.0rc1".into()), Some("3.7.0rc1".into())));
        // Any stable release, also of a later release.
        assert_eq!(best("3.7.0b1", "3.7.0b5 3.8.0b1 3.8.1"), (Some("3.8.1".into()), Some("3.8.1".into())));
        // An earlier pre-release of the same release is not newer.
        assert_eq!(best("3.7.0b5", "3.7.0b1 3.7.0a9"), (None, None));
        // Dash-separated pre-releases follow the same rule.
        assert_eq!(best("7.4-rc1", "7.4-rc2 8.0-rc1"), (Some("7.4-rc2".into()), Some("7.4-rc2".into())));
        // From a stable release, still no pre-releases at all.
        assert_eq!(best("3.13.0", "3.14.0a1 3.13.1rc1"), (None, None));
    }
