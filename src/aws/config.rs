//! The runner's AWS configuration, from the SDK's standard sources
//! (environment, profile, container or instance role) and `--profile` /
//! `--region`, with the timeouts and attempts a weekly scan wants. What the
//! SDK would only discover at the first request, or misname (a profile that
//! does not exist read as "no region"), is checked here first and said in
//! words: the profile named, and the runner's region with where it came
//! from.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use aws_types::region::Region;

use super::session::https_client;

/// Attempts per AWS request unless `AWS_MAX_ATTEMPTS` says otherwise: the
/// SDK's 3 leave ERROR rows behind a throttling storm that 8 absorb
/// (tests/integration/faults.rs); a weekly scan can wait.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// What the command line adds to the SDK's own sources.
#[derive(Debug, Clone, Default)]
pub struct RunnerSettings {
    /// `--profile`: the shared-config profile, ahead of `AWS_PROFILE`.
    pub profile: Option<String>,
    /// `--region`: the runner's region, ahead of every other source.
    pub region: Option<String>,
    /// The region used when no source names one: the first of `--regions`.
    pub fallback_region: Option<String>,
}

/// The runner's configuration, its region and where that came from.
#[derive(Debug, Clone)]
pub struct Runner {
    pub config: aws_config::SdkConfig,
    pub region: String,
    pub region_from: RegionSource,
}

/// Where the runner's region came from, as the log line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    Flag,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`.
    Environment(&'static str),
    /// The `region` of this shared-config profile.
    Profile(String),
    /// No variable or profile names it: the instance metadata service.
    InstanceMetadata,
    /// Nothing else named one: the first of `--regions`.
    Regions,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionSource::Flag => f.write_str("--region"),
            RegionSource::Environment(name) => f.write_str(name),
            RegionSource::Profile(name) => write!(f, "the region of profile {name:?}"),
            RegionSource::InstanceMetadata => f.write_str("the instance metadata service"),
            RegionSource::Regions => f.write_str(
                "the first of --regions, as no --region, AWS_REGION or profile region is set",
            ),
        }
    }
}

/// Why the runner has no usable configuration; each is something the
/// person running it fixes (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no AWS profile named {name:?} (from {from}) in {files}{}: fix the name, or add the profile (aws configure --profile {name})", known_profiles(.known))]
    NoSuchProfile {
        name: String,
        /// `--profile` or `AWS_PROFILE`.
        from: &'static str,
        files: String,
        known: Vec<String>,
    },
    #[error("cannot read the AWS shared config files ({files})")]
    ProfileFiles {
        files: String,
        #[source]
        source: aws_config::profile::ProfileFileLoadError,
    },
    #[error("no AWS region for the runner: pass --region (or --regions with the regions to scan), set AWS_REGION, or give the profile a region")]
    NoRegion,
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        " (which define no profile)".into()
    } else {
        format!(" (which define {})", known.join(", "))
    }
}

/// The runner's configuration: the SDK's standard sources with `settings`
/// on top, timeouts (a stalled connection must end in an ERROR row, not
/// hang the weekly run) and attempts.
pub async fn load(settings: &RunnerSettings) -> Result<Runner, ConfigError> {
    let (env, fs) = (Env::real(), Fs::real());
    let profile = check_profile(settings, &env, &fs).await?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // The credential providers (the task role on Fargate) need it too.
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader =
            loader.retry_config(RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS));
    }
    if let Some(name) = &settings.profile {
        loader = loader.profile_name(name);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    let (config, region, region_from) = match config.region().map(|r| r.to_string()) {
        Some(region) => {
            let from = region_source(settings, &env, profile);
            (config, region, from)
        }
        None => match &settings.fallback_region {
            Some(region) => (
                config
                    .to_builder()
                    .region(Region::new(region.clone()))
                    .build(),
                region.clone(),
                RegionSource::Regions,
            ),
            None => return Err(ConfigError::NoRegion),
        },
    };
    Ok(Runner {
        config,
        region,
        region_from,
    })
}

/// The profile the SDK will read (`--profile`, `AWS_PROFILE`, else
/// `default`), with its region if it has one. One that was named must
/// exist in the shared files; `default` may rightly be absent.
async fn check_profile(
    settings: &RunnerSettings,
    env: &Env,
    fs: &Fs,
) -> Result<SelectedProfile, ConfigError> {
    let named = match &settings.profile {
        Some(name) => Some((name.clone(), "--profile")),
        None => env
            .get("AWS_PROFILE")
            .ok()
            .filter(|name| !name.is_empty())
            .map(|name| (name, "AWS_PROFILE")),
    };
    let name = named
        .as_ref()
        .map_or_else(|| "default".to_string(), |(name, _)| name.clone());
    let files = profile_files(env);
    let set = aws_config::profile::load(
        fs,
        env,
        &EnvConfigFiles::default(),
        Some(Cow::Owned(name.clone())),
    )
    .await;
    let set = match (set, &named) {
        (Ok(set), _) => set,
        (Err(source), Some(_)) => return Err(ConfigError::ProfileFiles { files, source }),
        // Unnamed, the SDK goes on without the files; so does the region's source.
        (Err(_), None) => return Ok(SelectedProfile { name, region: None }),
    };
    match (set.get_profile(&name), named) {
        (Some(profile), _) => Ok(SelectedProfile {
            region: profile.get("region").map(str::to_string),
            name,
        }),
        (None, None) => Ok(SelectedProfile { name, region: None }),
        (None, Some((_, from))) => {
            let mut known: Vec<String> = set.profiles().map(str::to_string).collect();
            known.sort();
            Err(ConfigError::NoSuchProfile {
                name,
                from,
                files,
                known,
            })
        }
    }
}

/// The shared-config profile the SDK reads.
struct SelectedProfile {
    name: String,
    region: Option<String>,
}

/// The shared config and credentials files the SDK reads, as it finds them.
fn profile_files(env: &Env) -> String {
    let file = |variable: &str, default: &str| {
        env.get(variable)
            .ok()
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| default.to_string())
    };
    format!(
        "{} and {}",
        file("AWS_CONFIG_FILE", "~/.aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    )
}

/// Where the SDK found the region, following its order: `--region`, the
/// environment, the profile, then the instance metadata service.
fn region_source(settings: &RunnerSettings, env: &Env, profile: SelectedProfile) -> RegionSource {
    if settings.region.is_some() {
        return RegionSource::Flag;
    }
    for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if env.get(variable).is_ok_and(|value| !value.is_empty()) {
            return RegionSource::Environment(variable);
        }
    }
    match profile.region {
        Some(_) => RegionSource::Profile(profile.name),
        None => RegionSource::InstanceMetadata,
    }
}
