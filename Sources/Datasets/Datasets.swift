/// The Datasets module: readers for the raw Census-income and Taobao files, synthetic data and
/// hashed embedding tables.
public enum DatasetsModule {
    public static let name = "Datasets"
}
