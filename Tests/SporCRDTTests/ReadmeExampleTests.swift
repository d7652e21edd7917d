import Testing
import SporCRDT

/// The example in README.md, verbatim, so that the documentation stays true.
@Test("the README example works as documented")
func readmeExample() throws {
    var aarhus = Document(agent: try AgentID("aarhus-laptop"))
    try aarhus.insert("Klimatilpasning i Ærø Kommune 🌱", at: 0)

    var odense = Document(agent: try AgentID("odense-pc"))
    try odense.merge(encodedChanges: try aarhus.encodedChanges())   // catch up
    try odense.insert(" og Odense", at: 31)                          // edit offline
    try aarhus.delete(0..<18)                                         // concurrently

    try aarhus.merge(encodedChanges: try odense.encodedChanges(since: aarhus.versionVector))
    try odense.merge(encodedChanges: try aarhus.encodedChanges(since: odense.versionVector))
    #expect(aarhus.text() == "Ærø Kommune 🌱 og Odense")
    #expect(odense.text() == aarhus.text())

    let file = aarhus.encoded()                                       // save
    let reopened = try Document(decoding: file, agent: aarhus.agent)  // open
    #expect(reopened.text() == aarhus.text())
    #expect(reopened.version == aarhus.version)
}
