import ArgumentParser

/// `dql-bench`: dql's speed next to its baselines, in one run, reported as ratios.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dql-bench",
        abstract: "Measure dql against its baselines, side by side in one run.",
        subcommands: [
            DicomBench.self, TransferBench.self, ClusterBench.self, ScenarioBench.self, ArchiveBench.self,
            LevelBench.self, FrameBench.self, DICOMwebBench.self,
        ]
    )
}
