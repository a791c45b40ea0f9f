//! The Lambda-mode measurements: AWS over TLS through the terminator, init at full CPU, then each
//! memory size's CPU share and memory limit from the first poll on (see [`crate::cgroup`]).

use std::sync::Arc;

use crate::cgroup::{MemorySize, SizeGroups};
use crate::cold::{self, Summary};
use crate::stats::Samples;
use crate::warm::Warm;
use crate::world::{Conditions, InitRun, Subject, World};
use crate::{Settings, measure_each, progress, take};

/// The memory sizes measured: the smallest, two steps up (about 14 % and 29 % of a vCPU), and the
/// first with a whole vCPU (where priming has no CPU share to save).
pub const SIZES: [MemorySize; 4] = [MemorySize(128), MemorySize(256), MemorySize(512), MemorySize(1_769)];

const BROKER_PRIMED: Subject = Subject::Broker { primed: true };
const BROKER_UNPRIMED: Subject = Subject::Broker { primed: false };
const SUBJECTS: [Subject; 3] = [BROKER_PRIMED, BROKER_UNPRIMED, Subject::Python];

/// Init over TLS, shared by every memory size (init runs at full CPU whatever the size).
pub struct Init {
    pub elapsed: Samples,
    /// The emulators' time for the AWS requests made during init, measured at the proxy behind
    /// the terminator.
    pub aws: Samples,
}

impl Init {
    fn new(runs: Vec<InitRun>) -> Self {
        Self {
            elapsed: Samples::new(runs.iter().map(|run| run.elapsed).collect()),
            aws: Samples::new(runs.iter().map(|run| run.aws).collect()),
        }
    }
}

/// Per subject: broker primed, broker unprimed, Python reference.
pub struct PerSubject<T> {
    pub primed: T,
    pub unprimed: T,
    pub python: T,
}

pub struct SizeResults {
    pub size: MemorySize,
    pub cold: PerSubject<Summary>,
    pub warm: PerSubject<Warm>,
    /// CFS periods in which an instance of this size was throttled, over all its instances.
    pub throttled_periods: u64,
    /// Whether the pages a process had before moving in count against the limit.
    pub charges_moved_pages: bool,
}

pub struct LambdaResults {
    pub init: PerSubject<Init>,
    /// Warm hits over TLS at full CPU, to set beside each size's.
    pub warm_full_cpu: PerSubject<Warm>,
    pub sizes: Vec<SizeResults>,
}

/// Every size, once its cgroups are known to work here, or why Lambda mode cannot run here (then
/// only the plain-loopback table is printed).
pub fn prepare(world: &World) -> Result<Vec<Arc<SizeGroups>>, String> {
    if let Some(problem) = &world.tls_problem {
        return Err(format!("no certificates for the TLS terminator: {problem}"));
    }
    SIZES
        .iter()
        .map(|&size| SizeGroups::new(size).map(Arc::new))
        .collect::<Result<_, _>>()
        .map_err(|problem| format!("cannot make the memory size's cgroups (run as root, cgroup v1): {problem}"))
}

pub async fn measure(world: &World, settings: &Settings, sizes_groups: Vec<Arc<SizeGroups>>) -> LambdaResults {
    let full_cpu = Conditions::tls(None);
    progress(&format!("Lambda mode, init over TLS: {} runs each", settings.runs));
    let init = measure_each(&SUBJECTS, settings.runs, |subject| world.time_init(subject, &full_cpu)).await;
    progress(&format!("Lambda mode, warm at full CPU: {} hits each", settings.hits));
    let warm_full_cpu = warm_each(world, settings.hits, &full_cpu).await;
    let mut sizes = Vec::with_capacity(SIZES.len());
    for groups in sizes_groups {
        let size = groups.size;
        let conditions = Conditions::tls(Some(Arc::clone(&groups)));
        progress(&format!(
            "Lambda mode, {} MB: cold start, {} runs each",
            size.0, settings.runs
        ));
        let cold = measure_each(&SUBJECTS, settings.runs, |subject| {
            world.time_cold_start(subject, &conditions)
        })
        .await;
        progress(&format!(
            "Lambda mode, {} MB: warm, {} hits each",
            size.0, settings.hits
        ));
        let warm = warm_each(world, settings.hits, &conditions).await;
        sizes.push(SizeResults {
            size,
            cold: PerSubject {
                primed: cold::summary(take(&cold, BROKER_PRIMED)),
                unprimed: cold::summary(take(&cold, BROKER_UNPRIMED)),
                python: cold::summary(take(&cold, Subject::Python)),
            },
            warm,
            throttled_periods: groups.throttled_periods(),
            charges_moved_pages: groups.charges_moved_pages(),
        });
    }
    LambdaResults {
        init: PerSubject {
            primed: Init::new(take(&init, BROKER_PRIMED)),
            unprimed: Init::new(take(&init, BROKER_UNPRIMED)),
            python: Init::new(take(&init, Subject::Python)),
        },
        warm_full_cpu,
        sizes,
    }
}

async fn warm_each(world: &World, hits: usize, conditions: &Conditions) -> PerSubject<Warm> {
    PerSubject {
        primed: world.warm(BROKER_PRIMED, hits, conditions).await,
        unprimed: world.warm(BROKER_UNPRIMED, hits, conditions).await,
        python: world.warm(Subject::Python, hits, conditions).await,
    }
}
