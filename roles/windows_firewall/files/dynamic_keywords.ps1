# jaas.firewall.windows_firewall: domain rules through Windows Firewall dynamic keywords.
# With -Enabled: ensure one AutoResolve dynamic keyword address per domain (stable IDs
# computed on the controller) and one outbound rule per domain category referring to them.
# Always: delete keyword addresses whose ID is in -OwnedKeywordIds but no longer wanted.
# Needs Windows build 20348+ and Microsoft Defender network protection (which resolves the
# names); written against Microsoft's documented NetSecurity cmdlets, NOT run by this
# project's CI (no Windows host there).
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)][string]$Group,
    [object[]]$Rules = @(),
    [string[]]$OwnedKeywordIds = @(),
    [bool]$Enabled = $false
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$report = @{ created_keywords = @(); removed_keywords = @(); created_rules = @(); supported = $true }

$supported = [bool](Get-Command -Name Get-NetFirewallDynamicKeywordAddress -ErrorAction SilentlyContinue)
$report.supported = $supported
if (-not $supported) {
    if ($Enabled) {
        $Ansible.Failed = $true
        $build = [Environment]::OSVersion.Version.Build
        throw "jaas_firewall_domains needs Windows build 20348 or later with the " +
            "NetFirewallDynamicKeywordAddress cmdlets; this host is build $build."
    }
    $Ansible.Result = $report
    return
}

if ($Enabled) {
    $preference = Get-MpPreference -ErrorAction SilentlyContinue
    if ($null -eq $preference -or $preference.EnableNetworkProtection -ne 1) {
        $Ansible.Failed = $true
        throw 'Dynamic keyword FQDN rules are resolved by Microsoft Defender network protection, ' +
            'which is not enabled (Set-MpPreference -EnableNetworkProtection Enabled).'
    }
}

$wanted = @{}
foreach ($rule in $Rules) {
    foreach ($keyword in $rule.keywords) { $wanted[$keyword.id] = $keyword.keyword }
}

$existing = @{}
foreach ($address in @(Get-NetFirewallDynamicKeywordAddress -ErrorAction SilentlyContinue)) {
    $existing[$address.Id] = $address
}

# Keyword addresses: create the wanted ones, delete owned ones no longer wanted.
foreach ($id in $wanted.Keys) {
    $current = $existing[$id]
    if ($null -ne $current -and $current.Keyword -eq $wanted[$id] -and $current.AutoResolve) { continue }
    $Ansible.Changed = $true
    if ($PSCmdlet.ShouldProcess($wanted[$id], 'Create AutoResolve dynamic keyword address')) {
        if ($null -ne $current) { Remove-NetFirewallDynamicKeywordAddress -Id $id }
        New-NetFirewallDynamicKeywordAddress -Id $id -Keyword $wanted[$id] -AutoResolve $true | Out-Null
    }
    $report.created_keywords += $wanted[$id]
}
foreach ($id in $OwnedKeywordIds) {
    if ($wanted.ContainsKey($id) -or -not $existing.ContainsKey($id)) { continue }
    $Ansible.Changed = $true
    if ($PSCmdlet.ShouldProcess($existing[$id].Keyword, 'Remove dynamic keyword address')) {
        Remove-NetFirewallDynamicKeywordAddress -Id $id
    }
    $report.removed_keywords += $existing[$id].Keyword
}

# Domain rules: recreate any that differ (prune_group.ps1 already removed unwanted names).
foreach ($rule in $Rules) {
    $ids = @($rule.keywords | ForEach-Object { $_.id } | Sort-Object)
    $profileList = (@($rule.profiles) | ForEach-Object { (Get-Culture).TextInfo.ToTitleCase($_) }) -join ','
    $current = @(Get-NetFirewallRule -Group $Group -ErrorAction SilentlyContinue |
        Where-Object { $_.DisplayName -ceq $rule.name })
    $same = $false
    if ($current.Count -eq 1) {
        $filter = $current[0] | Get-NetFirewallAddressFilter
        $ports = $current[0] | Get-NetFirewallPortFilter
        $haveIds = @()
        if ($filter.PSObject.Properties['RemoteDynamicKeywordAddresses']) {
            $haveIds = @($filter.RemoteDynamicKeywordAddresses | Sort-Object)
        }
        $same = ($current[0].Description -ceq $rule.description) -and
            ([string]$current[0].Direction -eq 'Outbound') -and
            ([string]$ports.Protocol -eq $rule.protocol) -and
            ((@($ports.RemotePort) -join ',') -eq $rule.remoteport) -and
            (($haveIds -join ',') -eq ($ids -join ','))
    }
    if ($same) { continue }
    $Ansible.Changed = $true
    if ($PSCmdlet.ShouldProcess($rule.name, "Create dynamic keyword rule in group $Group")) {
        $current | ForEach-Object { Remove-NetFirewallRule -InputObject $_ }
        New-NetFirewallRule -DisplayName $rule.name -Group $Group -Description $rule.description `
            -Direction Outbound -Action Allow -Protocol $rule.protocol -RemotePort $rule.remoteport `
            -Profile $profileList -RemoteDynamicKeywordAddresses $ids | Out-Null
    }
    $report.created_rules += $rule.name
}

$Ansible.Result = $report
