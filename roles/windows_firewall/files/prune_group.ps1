# jaas.firewall.windows_firewall: list the rules of one firewall group and remove those
# whose display name is not in -Keep. Rules outside the group are only read, to report
# same-named ones (win_firewall_rule matches by name and would take them over).
# Runs under ansible.windows.win_powershell; honours check mode through ShouldProcess.
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [Parameter(Mandatory = $true)][string]$Group,
    [string[]]$Keep = @()
)

$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false

$inGroup = @(Get-NetFirewallRule -Group $Group -ErrorAction SilentlyContinue)
$before = @($inGroup | ForEach-Object { $_.DisplayName } | Sort-Object)
$removed = [System.Collections.Generic.List[string]]@()

foreach ($rule in $inGroup) {
    if ($Keep -ccontains $rule.DisplayName) { continue }
    $removed.Add($rule.DisplayName)
    $Ansible.Changed = $true
    if ($PSCmdlet.ShouldProcess($rule.DisplayName, "Remove firewall rule from group $Group")) {
        Remove-NetFirewallRule -InputObject $rule
    }
}

$conflicts = @()
if ($Keep.Count -gt 0) {
    $conflicts = @(Get-NetFirewallRule -DisplayName $Keep -ErrorAction SilentlyContinue |
        Where-Object { $_.Group -ne $Group } | ForEach-Object { $_.DisplayName } | Sort-Object -Unique)
}

$after = @($before | Where-Object { -not $removed.Contains($_) })
$Ansible.Diff = @{
    before = ($before -join "`n") + "`n"
    after = ($after -join "`n") + "`n"
}
$Ansible.Result = @{
    group = $Group
    found = $before
    removed = @($removed)
    conflicts = $conflicts
}
